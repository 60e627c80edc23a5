-- The demo's burst of changes while `binlake run` follows the binlog. `-- step:` lines split it
-- into steps that scripts/demo.sh runs one second apart, so the lake can be watched following.
SET NAMES utf8mb4;
USE shop;
-- step: a new customer and 500 orders for them
INSERT INTO customers VALUES (2001, 'Zoë Ångström', 'zoe@example.com', 'SE', 'pro', NOW(3), 10.00);
INSERT INTO orders SELECT 20000 + seq, 2001, 'SKU-00042', seq, seq * 42.57, NOW(6), NULL
  FROM seq_1_to_500;
-- step: every 100th customer gets a balance bump and the enterprise tier
UPDATE customers SET balance = balance + 5, tier = 'enterprise' WHERE id % 100 = 0;
-- step: one transaction over two tables: a sale and the orders it affects
BEGIN;
UPDATE products SET price = price * 0.9, tags = 'sale' WHERE sku <= 'SKU-00010';
UPDATE orders SET note = 'price adjusted' WHERE sku <= 'SKU-00010' AND id < 1000;
COMMIT;
-- step: a primary-key move (staged as D + I) and a batch of deletes
UPDATE customers SET id = 3001 WHERE id = 1;
DELETE FROM orders WHERE id % 1000 = 7;
-- step: a table without a primary key: rows are identified by their whole value
UPDATE page_views SET path = '/home' WHERE path = '/p/0';
DELETE FROM page_views WHERE customer_id = 2;
-- step: NULLs, binary data and JSON
UPDATE customers SET email = NULL WHERE id BETWEEN 10 AND 14;
UPDATE products SET image = UNHEX('00FF00FF'), attributes = JSON_OBJECT('color', 'black', 'limited', true)
  WHERE sku = 'SKU-00001';
