-- The demo's burst of changes while the capture runs: inserts, updates, a key move, deletes, DDL.
SET NAMES utf8mb4;
USE shop;
INSERT INTO customers VALUES (2001, 'Zoë Ångström', 'zoe@example.com', 'SE', 'pro', NOW(3), 10.00);
INSERT INTO orders SELECT 20000 + seq, 2001, 'SKU-00042', seq, seq * 42.57, NOW(6), NULL
  FROM seq_1_to_500;
UPDATE customers SET balance = balance + 5, tier = 'enterprise' WHERE id % 100 = 0;
BEGIN;
UPDATE products SET price = price * 0.9, tags = 'sale' WHERE sku <= 'SKU-00010';
UPDATE orders SET note = 'price adjusted' WHERE sku <= 'SKU-00010' AND id < 1000;
COMMIT;
UPDATE customers SET id = 3001 WHERE id = 1;           -- a primary-key move: D + I
DELETE FROM orders WHERE id % 1000 = 7;
UPDATE page_views SET path = '/home' WHERE path = '/p/0';  -- no key: D + I
ALTER TABLE customers ADD COLUMN phone VARCHAR(20) NULL;  -- a new schema version
UPDATE customers SET phone = '+34 600 000 000' WHERE id = 2001;
