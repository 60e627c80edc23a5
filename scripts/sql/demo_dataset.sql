-- The demo's sample dataset (the seed's "dumping data" step): a small shop with varied types.
SET NAMES utf8mb4;
DROP DATABASE IF EXISTS shop;
CREATE DATABASE shop CHARACTER SET utf8mb4;
USE shop;
CREATE TABLE customers (
  id INT UNSIGNED NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  email VARCHAR(200),
  country CHAR(2),
  tier ENUM('free','pro','enterprise') NOT NULL DEFAULT 'free',
  signed_up DATETIME(3) NOT NULL,
  balance DECIMAL(12,2) NOT NULL DEFAULT 0
);
CREATE TABLE products (
  sku VARCHAR(20) NOT NULL PRIMARY KEY,
  title VARCHAR(200) NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  weight_kg FLOAT,
  tags SET('new','sale','eco','bulk'),
  attributes JSON,
  image BLOB
);
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  customer_id INT UNSIGNED NOT NULL,
  sku VARCHAR(20) NOT NULL,
  quantity SMALLINT NOT NULL,
  total DECIMAL(14,2) NOT NULL,
  placed_at TIMESTAMP(6) NOT NULL,
  note TEXT
);
CREATE TABLE page_views (  -- no primary key: changes are identified by the whole row
  customer_id INT UNSIGNED,
  path VARCHAR(200),
  seen_on DATE
);
INSERT INTO customers
  SELECT seq, CONCAT('Customer ', seq, IF(seq % 7 = 0, ' Müller-Łukasz', '')),
         IF(seq % 5 = 0, NULL, CONCAT('c', seq, '@example.com')),
         ELT(1 + seq % 4, 'ES', 'DE', 'US', 'JP'), ELT(1 + seq % 3, 'free', 'pro', 'enterprise'),
         '2024-01-01 00:00:00.000' + INTERVAL seq * 37 SECOND, (seq % 1000) * 1.25
  FROM seq_1_to_2000;
INSERT INTO products
  SELECT CONCAT('SKU-', LPAD(seq, 5, '0')), CONCAT('Product "', seq, '", a, b'), 1 + seq * 0.99,
         seq / 7, ELT(1 + seq % 4, 'new', 'sale,eco', '', 'bulk'),
         JSON_OBJECT('color', ELT(1 + seq % 3, 'red', 'green', 'blue'), 'size', seq % 10),
         UNHEX(REPEAT(LPAD(HEX(seq % 256), 2, '0'), 8))
  FROM seq_1_to_300;
INSERT INTO orders
  SELECT seq, 1 + seq % 2000, CONCAT('SKU-', LPAD(1 + seq % 300, 5, '0')), 1 + seq % 5,
         (1 + seq % 5) * (1 + (1 + seq % 300) * 0.99), '2024-06-01 00:00:00' + INTERVAL seq MINUTE,
         IF(seq % 9 = 0, 'gift wrap,\nplease', NULL)
  FROM seq_1_to_20000;
INSERT INTO page_views
  SELECT 1 + seq % 2000, CONCAT('/p/', seq % 300), '2024-06-01' + INTERVAL seq % 30 DAY
  FROM seq_1_to_5000;
