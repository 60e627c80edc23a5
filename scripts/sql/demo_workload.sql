-- The demo workload: a table with every column type, then inserts, updates and deletes.
CREATE DATABASE IF NOT EXISTS demo;
USE demo;
DROP TABLE IF EXISTS all_types;
CREATE TABLE all_types (
  id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  c_tiny TINYINT, c_utiny TINYINT UNSIGNED, c_small SMALLINT, c_usmall SMALLINT UNSIGNED,
  c_medium MEDIUMINT, c_umedium MEDIUMINT UNSIGNED, c_int INT, c_uint INT UNSIGNED,
  c_big BIGINT, c_ubig BIGINT UNSIGNED,
  c_dec DECIMAL(65,30), c_dec2 DECIMAL(10,2), c_float FLOAT, c_double DOUBLE,
  c_date DATE, c_dt DATETIME, c_dt6 DATETIME(6), c_ts TIMESTAMP(3) NULL, c_time TIME(6), c_year YEAR,
  c_char CHAR(10), c_varchar VARCHAR(200), c_text TEXT, c_latin1 VARCHAR(20) CHARACTER SET latin1,
  c_binary BINARY(4), c_varbinary VARBINARY(20), c_blob BLOB,
  c_enum ENUM('small','medium','large'), c_set SET('red','green','blue'), c_bit BIT(12),
  c_json JSON, c_geo POINT
) ENGINE=InnoDB;
INSERT INTO all_types VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
  -9223372036854775808, 18446744073709551615,
  '-99999999999999999999999999999999999.999999999999999999999999999999', 12345678.90, 3.14, 2.718281828459045,
  '2024-02-29', '2024-02-29 23:59:59', '1000-01-01 00:00:00.000001', '2038-01-19 03:14:07.999',
  '-838:59:59.000000', 2155,
  'fixed', 'héllo wörld ✓', 'a long text\nwith a newline and "quotes"', 'café',
  X'00FF10AB', X'DEADBEEF', X'0001020304', 'medium', 'red,blue', b'101010101010',
  '{"k": [1, 2.5, "x", null, true]}', ST_GeomFromText('POINT(1 2)', 4326)),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  '0.000000000000000000000000000001', -0.01, -1.5e-10, 1e308,
  '0000-00-00', '0000-00-00 00:00:00', '9999-12-31 23:59:59.999999', '1970-01-01 00:00:01.000',
  '838:59:59.999999', 1901, '', '', '', '', X'00000000', X'', X'', 'small', '', b'0',
  '[]', ST_GeomFromText('POINT(0 0)')),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
BEGIN;
UPDATE all_types SET c_varchar = 'updated ✓', c_dec2 = c_dec2 + 1, c_json = '{"updated": true}' WHERE id = 1;
UPDATE all_types SET id = 30 WHERE id = 3;
COMMIT;
DELETE FROM all_types WHERE id = 2;
