-- All MariaDB 10.11 column types, for tests/binlog/all_types_vs_mariadb_binlog_itest.py: the binlog
-- this writes is decoded by binlake and by mariadb-binlog and compared value by value, and binlake's
-- final after-images are compared with SELECT output. Runs with sql_mode='' (zero dates, invalid
-- ENUM values) and time_zone='+00:00' (TIMESTAMP literals are UTC). Every table has `id` as its
-- primary key.
SET NAMES utf8mb4;
SET SESSION sql_mode = '';
SET SESSION time_zone = '+00:00';
SET SESSION binlog_format = 'ROW';
DROP DATABASE IF EXISTS binlake_alltypes;
CREATE DATABASE binlake_alltypes CHARACTER SET utf8mb4;
USE binlake_alltypes;

-- Integers: every width, signed and unsigned, min / max / 0 / -1 / NULL.
CREATE TABLE t_int (
  id INT PRIMARY KEY,
  ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
  bi BIGINT, biu BIGINT UNSIGNED, bo BOOL
);
INSERT INTO t_int VALUES
  (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, 0),
  (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
      9223372036854775807, 18446744073709551615, 1),
  (3, 0, 128, 0, 32768, 0, 8388608, 0, 2147483648, 0, 9223372036854775808, 0),
  (4, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- DECIMAL, FLOAT, DOUBLE.
CREATE TABLE t_num (
  id INT PRIMARY KEY,
  d65 DECIMAL(65,30), d10 DECIMAL(10,2), d5 DECIMAL(5,5), du DECIMAL(20,4) UNSIGNED,
  d0 DECIMAL(18,0), d1 DECIMAL(1,0), f FLOAT, db DOUBLE
);
INSERT INTO t_num VALUES
  (1, 99999999999999999999999999999999999.999999999999999999999999999999, 99999999.99, 0.99999,
      9999999999999999.9999, 999999999999999999, 9, 3.40282e38, 1.7976931348623157e308),
  (2, -99999999999999999999999999999999999.999999999999999999999999999999, -99999999.99, -0.99999,
      0, -999999999999999999, -9, -3.40282e38, -1.7976931348623157e308),
  (3, 0.000000000000000000000000000001, 0.01, 0.00001, 0.0001, 0, 0, 1.17549e-38,
      2.2250738585072014e-308),
  (4, -0.000000000000000000000000000001, -12.50, -0.00001, 12345.6789, 1, -1, 1.4e-45, 4.9e-324),
  (5, 0, 0, 0, 1, 123456789012345678, 5, 3.14159265, 0.1),
  (6, 12345.678900000000000000000000000001, 1234.5, 0.5, 1.5, -42, 3, -0.0, -0.0),
  (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- Temporal types, every fractional precision; zero dates (sql_mode=''); TIME extremes and
-- negative fractions; TIMESTAMP in UTC.
CREATE TABLE t_time (
  id INT PRIMARY KEY,
  d DATE,
  dt0 DATETIME(0), dt1 DATETIME(1), dt2 DATETIME(2), dt3 DATETIME(3), dt4 DATETIME(4),
  dt5 DATETIME(5), dt6 DATETIME(6),
  ts0 TIMESTAMP(0) NULL DEFAULT NULL, ts1 TIMESTAMP(1) NULL DEFAULT NULL,
  ts2 TIMESTAMP(2) NULL DEFAULT NULL, ts3 TIMESTAMP(3) NULL DEFAULT NULL,
  ts4 TIMESTAMP(4) NULL DEFAULT NULL, ts5 TIMESTAMP(5) NULL DEFAULT NULL,
  ts6 TIMESTAMP(6) NULL DEFAULT NULL,
  tm0 TIME(0), tm1 TIME(1), tm2 TIME(2), tm3 TIME(3), tm4 TIME(4), tm5 TIME(5), tm6 TIME(6),
  y YEAR
);
INSERT INTO t_time VALUES
  (1, '1000-01-01',
      '1000-01-01 00:00:00', '1000-01-01 00:00:00.1', '1000-01-01 00:00:00.01',
      '1000-01-01 00:00:00.001', '1000-01-01 00:00:00.0001', '1000-01-01 00:00:00.00001',
      '1000-01-01 00:00:00.000001',
      '1970-01-01 00:00:01', '1970-01-01 00:00:01.1', '1970-01-01 00:00:01.01',
      '1970-01-01 00:00:01.001', '1970-01-01 00:00:01.0001', '1970-01-01 00:00:01.00001',
      '1970-01-01 00:00:01.000001',
      '-838:59:59', '-838:59:59.9', '-838:59:59.99', '-838:59:59.999', '-838:59:59.9999',
      '-838:59:59.99999', '-838:59:59.999999', 1901),
  (2, '9999-12-31',
      '9999-12-31 23:59:59', '9999-12-31 23:59:59.9', '9999-12-31 23:59:59.99',
      '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.9999', '9999-12-31 23:59:59.99999',
      '9999-12-31 23:59:59.999999',
      '2038-01-19 03:14:07', '2038-01-19 03:14:07.9', '2038-01-19 03:14:07.99',
      '2038-01-19 03:14:07.999', '2038-01-19 03:14:07.9999', '2038-01-19 03:14:07.99999',
      '2038-01-19 03:14:07.999999',
      '838:59:59', '838:59:59.9', '838:59:59.99', '838:59:59.999', '838:59:59.9999',
      '838:59:59.99999', '838:59:59.999999', 2155),
  (3, '0000-00-00',
      '0000-00-00 00:00:00', '0000-00-00 00:00:00.0', '0000-00-00 00:00:00.00',
      '0000-00-00 00:00:00.000', '0000-00-00 00:00:00.0000', '0000-00-00 00:00:00.00000',
      '0000-00-00 00:00:00.000000',
      '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00',
      '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00',
      '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', '00:00:00', 0),
  (4, '2024-02-29',
      '2024-02-29 23:59:59', '2024-02-29 23:59:59.5', '2024-02-29 23:59:59.05',
      '2024-02-29 23:59:59.005', '2024-02-29 23:59:59.0005', '2024-02-29 23:59:59.00005',
      '2024-02-29 23:59:59.000001',
      '2024-02-29 12:34:56', '2024-02-29 12:34:56.1', '2024-02-29 12:34:56.12',
      '2024-02-29 12:34:56.123', '2024-02-29 12:34:56.1234', '2024-02-29 12:34:56.12345',
      '2024-02-29 12:34:56.123456',
      '-00:00:01', '-00:00:00.5', '-00:00:00.05', '-00:00:00.005', '-00:00:00.0005',
      '-00:00:00.00005', '-00:00:00.000001', 2024),
  (5, '2024-00-00',
      '2024-02-00 10:00:00', '2024-00-15 10:00:00.5', '1999-12-31 23:59:59.99',
      '2000-01-01 00:00:00.001', '1969-12-31 23:59:59.9999', '1900-01-01 00:00:00.00001',
      '1582-10-10 12:00:00.5',
      '1999-12-31 23:59:59', '2000-02-29 00:00:00.5', '2001-09-09 01:46:40.25',
      '2037-12-31 23:59:59.999', '1970-01-01 00:00:00.0001', '2020-06-30 23:59:59.99999',
      '1970-01-01 00:00:00.000001',
      '-12:34:56', '-12:34:56.7', '-12:34:56.78', '-12:34:56.789', '-12:34:56.7890',
      '-12:34:56.78901', '-12:34:56.789012', 1970),
  (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- Character strings in several charsets (CHAR, VARCHAR, TEXT each).
CREATE TABLE t_str (
  id INT PRIMARY KEY,
  c_utf8mb4 CHAR(10) CHARACTER SET utf8mb4,
  v_utf8mb4 VARCHAR(100) CHARACTER SET utf8mb4,
  t_utf8mb4 TEXT CHARACTER SET utf8mb4,
  c_latin1 CHAR(10) CHARACTER SET latin1,
  v_latin1 VARCHAR(100) CHARACTER SET latin1,
  t_latin1 TEXT CHARACTER SET latin1,
  c_cp1251 CHAR(10) CHARACTER SET cp1251,
  v_cp1251 VARCHAR(100) CHARACTER SET cp1251,
  t_cp1251 TEXT CHARACTER SET cp1251,
  c_gbk CHAR(10) CHARACTER SET gbk,
  v_gbk VARCHAR(100) CHARACTER SET gbk,
  t_gbk TEXT CHARACTER SET gbk,
  c_sjis CHAR(10) CHARACTER SET sjis,
  v_sjis VARCHAR(100) CHARACTER SET sjis,
  t_sjis TEXT CHARACTER SET sjis,
  c_ucs2 CHAR(10) CHARACTER SET ucs2,
  v_ucs2 VARCHAR(100) CHARACTER SET ucs2,
  t_ucs2 TEXT CHARACTER SET ucs2,
  c_utf16 CHAR(10) CHARACTER SET utf16,
  v_utf16 VARCHAR(100) CHARACTER SET utf16,
  t_utf16 TEXT CHARACTER SET utf16,
  c_long CHAR(100) CHARACTER SET utf8mb4,
  v_long VARCHAR(300) CHARACTER SET latin1
);
INSERT INTO t_str VALUES
  (1, 'héllo 😀', 'it''s a \\ "quote" 中文 😀🎉 Ω', 'tab\there\nnewline\r\n nul:\0: end ✓ 𝄞', 'Grüße ÿ', '€ ‰ Š œ Ÿ ¿¡ «»  àéîõü \\ ''', 'tab\there\nnewline ÆØÅ æøå ß', 'Привет', 'Съешь же ещё этих мягких булок № Ё', 'Українська: ґ є і ї \\ ''q''', '中文简体', '汉字测试：你好，世界！ \\ ''', '繁體字也可以：龍 鳳 〇', '日本語ﾃｽﾄ', 'back\\slash ~tilde ひらがな カタカナ', '漢字テキスト ｶﾀｶﾅ 〒 ＠', 'Ünïcödé Ω', '≠ ≤ ≥ 中 ☃ \\ ''', 'BMP only: ЖЖЖ ĀāĂă ﬁ', '𝄞 😀 ab', 'supplementary 😀 𝄞 中 \\ ''', 'mix: ☃ 🎉 Ω ü', 'long CHAR > 255 bytes: ü😀', REPEAT('ÿ', 300)),
  (2, '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', ''),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a\\x1f', 'quote '' and \\\\ and \\x41', '  x  ', '\\x0a');

-- Binary strings with every byte value.
CREATE TABLE t_bin (
  id INT PRIMARY KEY,
  b16 BINARY(16), vb VARBINARY(300), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  cb CHAR(10) CHARACTER SET binary
);
INSERT INTO t_bin VALUES
  (1, x'000102030405060708090a0b0c0d0e0f', x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', SUBSTRING(x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 1, 255),
      x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', x'fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0dfdedddcdbdad9d8d7d6d5d4d3d2d1d0cfcecdcccbcac9c8c7c6c5c4c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a09f9e9d9c9b9a999897969594939291908f8e8d8c8b8a898887868584838281807f7e7d7c7b7a797877767574737271706f6e6d6c6b6a696867666564636261605f5e5d5c5b5a595857565554535251504f4e4d4c4b4a494847464544434241403f3e3d3c3b3a393837363534333231302f2e2d2c2b2a292827262524232221201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100', CONCAT(x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', x'fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0dfdedddcdbdad9d8d7d6d5d4d3d2d1d0cfcecdcccbcac9c8c7c6c5c4c3c2c1c0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0afaeadacabaaa9a8a7a6a5a4a3a2a1a09f9e9d9c9b9a999897969594939291908f8e8d8c8b8a898887868584838281807f7e7d7c7b7a797877767574737271706f6e6d6c6b6a696867666564636261605f5e5d5c5b5a595857565554535251504f4e4d4c4b4a494847464544434241403f3e3d3c3b3a393837363534333231302f2e2d2c2b2a292827262524232221201f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100'), x'00275c0a0d1a22'),
  (2, 'ab', '', '', '', '', '', 'x'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, x'5c7830615c', '\\x0a\\x1f''', x'27', x'5c', REPEAT(x'00ff', 40000), REPEAT(x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', 300),
      '');

-- ENUM (1- and 2-byte) and SET (1- and 8-byte), invalid ENUM value (index 0) with sql_mode=''.
CREATE TABLE t_enum_set (
  id INT PRIMARY KEY,
  e ENUM('a','b','c','d'), e2 ENUM('v1','v2','v3','v4','v5','v6','v7','v8','v9','v10','v11','v12','v13','v14','v15','v16','v17','v18','v19','v20','v21','v22','v23','v24','v25','v26','v27','v28','v29','v30','v31','v32','v33','v34','v35','v36','v37','v38','v39','v40','v41','v42','v43','v44','v45','v46','v47','v48','v49','v50','v51','v52','v53','v54','v55','v56','v57','v58','v59','v60','v61','v62','v63','v64','v65','v66','v67','v68','v69','v70','v71','v72','v73','v74','v75','v76','v77','v78','v79','v80','v81','v82','v83','v84','v85','v86','v87','v88','v89','v90','v91','v92','v93','v94','v95','v96','v97','v98','v99','v100','v101','v102','v103','v104','v105','v106','v107','v108','v109','v110','v111','v112','v113','v114','v115','v116','v117','v118','v119','v120','v121','v122','v123','v124','v125','v126','v127','v128','v129','v130','v131','v132','v133','v134','v135','v136','v137','v138','v139','v140','v141','v142','v143','v144','v145','v146','v147','v148','v149','v150','v151','v152','v153','v154','v155','v156','v157','v158','v159','v160','v161','v162','v163','v164','v165','v166','v167','v168','v169','v170','v171','v172','v173','v174','v175','v176','v177','v178','v179','v180','v181','v182','v183','v184','v185','v186','v187','v188','v189','v190','v191','v192','v193','v194','v195','v196','v197','v198','v199','v200','v201','v202','v203','v204','v205','v206','v207','v208','v209','v210','v211','v212','v213','v214','v215','v216','v217','v218','v219','v220','v221','v222','v223','v224','v225','v226','v227','v228','v229','v230','v231','v232','v233','v234','v235','v236','v237','v238','v239','v240','v241','v242','v243','v244','v245','v246','v247','v248','v249','v250','v251','v252','v253','v254','v255','v256','v257','v258','v259','v260','v261','v262','v263','v264','v265','v266','v267','v268','v269','v270','v271','v272','v273','v274','v275','v276','v277','v278','v279','v280','v281','v282','v283','v284','v285','v286','v287','v288','v289','v290','v291','v292','v293','v294','v295','v296','v297','v298','v299','v300'), s SET('a','b','c'), s64 SET('m1','m2','m3','m4','m5','m6','m7','m8','m9','m10','m11','m12','m13','m14','m15','m16','m17','m18','m19','m20','m21','m22','m23','m24','m25','m26','m27','m28','m29','m30','m31','m32','m33','m34','m35','m36','m37','m38','m39','m40','m41','m42','m43','m44','m45','m46','m47','m48','m49','m50','m51','m52','m53','m54','m55','m56','m57','m58','m59','m60','m61','m62','m63','m64')
);
INSERT INTO t_enum_set VALUES
  (1, 'a', 'v1', '', ''),
  (2, 'd', 'v300', 'a,b,c', 'm1,m64'),
  (3, 'zzz', 'v256', 'b', 'm1,m2,m3,m4,m5,m6,m7,m8,m9,m10,m11,m12,m13,m14,m15,m16,m17,m18,m19,m20,m21,m22,m23,m24,m25,m26,m27,m28,m29,m30,m31,m32,m33,m34,m35,m36,m37,m38,m39,m40,m41,m42,m43,m44,m45,m46,m47,m48,m49,m50,m51,m52,m53,m54,m55,m56,m57,m58,m59,m60,m61,m62,m63,m64'),
  (4, NULL, NULL, NULL, NULL);

-- BIT(1..64).
CREATE TABLE t_bit (
  id INT PRIMARY KEY,
  b1 BIT(1), b7 BIT(7), b8 BIT(8), b9 BIT(9), b16 BIT(16), b31 BIT(31), b32 BIT(32),
  b33 BIT(33), b63 BIT(63), b64 BIT(64)
);
INSERT INTO t_bit VALUES
  (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  (2, b'1', b'1111111', 255, 511, 65535, 2147483647, 4294967295, 8589934591,
      9223372036854775807, 18446744073709551615),
  (3, 1, b'1010101', 165, b'100000001', 32769, 1073741825, 2147483649, 4294967297,
      4611686018427387905, 9223372036854775809),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- JSON (in MariaDB: LONGTEXT with a json_valid check).
CREATE TABLE t_json (id INT PRIMARY KEY, j JSON);
INSERT INTO t_json VALUES
  (1, '{"a": 1, "b": [true, false, null], "c": "ü \\" x", "d": 1.5e300}'),
  (2, '[]'), (3, '"str"'), (4, '12.5'), (5, NULL),
  (6, '{"nested": {"deep": [1, [2, [3, {"k": "😀"}]]]}}');

-- Spatial types, with and without SRID.
CREATE TABLE t_geo (
  id INT PRIMARY KEY,
  g GEOMETRY, p POINT, l LINESTRING, pg POLYGON, mp MULTIPOINT, gc GEOMETRYCOLLECTION
);
INSERT INTO t_geo VALUES
  (1, ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(-1.5 2.25)'),
      ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)'),
      ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))'),
      ST_GeomFromText('MULTIPOINT(1 1, 2 2)'),
      ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))')),
  (2, ST_GeomFromText('POINT(13.4 52.5)', 4326), ST_GeomFromText('POINT(0 0)', 3857),
      ST_GeomFromText('LINESTRING(1e300 -1e300, 0 0)', 4326),
      ST_GeomFromText('POLYGON((0 0, 1 0, 0 1, 0 0))', 4326),
      ST_GeomFromText('MULTIPOINT(0 0)', 4326),
      ST_GeomFromText('GEOMETRYCOLLECTION EMPTY')),
  (3, NULL, NULL, NULL, NULL, NULL, NULL);

-- UPDATEs: values, NULL <-> value, several rows at once, primary-key changes.
UPDATE t_int SET ti = ti + 1, tiu = tiu + 1, biu = biu + 1, bi = bi + 1 WHERE id = 1;
UPDATE t_int SET iu = NULL, i = 7 WHERE id IN (2, 4);
UPDATE t_int SET id = 103, ti = 42 WHERE id = 3;
UPDATE t_int SET ti = -5, bo = 1 WHERE id = 5;
UPDATE t_num SET d65 = -d65, d10 = d10 / 3, f = f / 3, db = db / 7 WHERE id IN (3, 5);
UPDATE t_num SET id = 70, f = 2.5 WHERE id = 7;
UPDATE t_time SET tm6 = '838:59:59.999999', ts3 = NULL, y = 2000 WHERE id = 1;
UPDATE t_time SET id = 40, dt6 = '2000-01-01 00:00:00.5', ts6 = '2000-01-01 00:00:00.5' WHERE id = 4;
UPDATE t_time SET d = '2023-01-01', tm0 = '-01:00:00' WHERE id = 6;
UPDATE t_str SET v_latin1 = CONCAT(v_latin1, '!'), t_utf8mb4 = NULL, c_sjis = '\\~' WHERE id = 1;
UPDATE t_str SET c_utf8mb4 = 'zz', v_cp1251 = 'ё', t_gbk = '中', c_ucs2 = 'ü', v_utf16 = '😀' WHERE id = 3;
UPDATE t_str SET id = 20 WHERE id = 2;
UPDATE t_bin SET bl = REVERSE(bl), b16 = x'ff' WHERE id = 1;
UPDATE t_bin SET id = 40, vb = x'00' WHERE id = 2;
UPDATE t_enum_set SET e = 'c', s = 'b,c', e2 = 'v255' WHERE id = 1;
UPDATE t_enum_set SET s64 = 'm63', e = 'a' WHERE id IN (3, 4);
UPDATE t_bit SET b64 = b64 >> 1, b1 = 1 WHERE id = 2;
UPDATE t_bit SET id = 30, b9 = 256 WHERE id = 3;
UPDATE t_json SET j = JSON_SET(j, '$.e', 'new') WHERE id = 1;
UPDATE t_json SET j = '{"x": null}' WHERE id = 5;
UPDATE t_geo SET g = ST_GeomFromText('LINESTRING(0 0, 1 1)', 3857) WHERE id = 1;
UPDATE t_geo SET id = 30, p = ST_GeomFromText('POINT(9 9)') WHERE id = 3;

-- DELETEs.
DELETE FROM t_int WHERE id = 4;
DELETE FROM t_num WHERE id IN (2, 6);
DELETE FROM t_time WHERE id = 5;
DELETE FROM t_str WHERE id = 4;
DELETE FROM t_bin WHERE id = 3;
DELETE FROM t_enum_set WHERE id = 2;
DELETE FROM t_bit WHERE id = 1;
DELETE FROM t_json WHERE id IN (2, 3);
DELETE FROM t_geo WHERE id = 2;

-- One transaction over several tables.
BEGIN;
INSERT INTO t_int VALUES (6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1), (7, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, 0);
UPDATE t_num SET d0 = d0 + 1 WHERE id = 1;
INSERT INTO t_str (id, v_utf8mb4, c_gbk) VALUES (5, 'in a transaction ✓', '事务');
DELETE FROM t_int WHERE id = 7;
UPDATE t_time SET ts0 = '2030-01-01 00:00:00' WHERE id = 2;
COMMIT;

-- Character columns after a spatial column (the TABLE_MAP charset metadata numbers GEOMETRY among
-- the character columns). Last, so that a decoding failure here leaves everything above compared.
CREATE TABLE t_geo_mix (
  id INT PRIMARY KEY,
  g GEOMETRY,
  note VARCHAR(20) CHARACTER SET latin1,
  raw BLOB,
  txt TEXT CHARACTER SET utf8mb4
);
INSERT INTO t_geo_mix VALUES
  (1, ST_GeomFromText('POINT(1 2)'), 'Grüße', x'00ff10', 'héllo ✓'),
  (2, NULL, NULL, NULL, NULL);
UPDATE t_geo_mix SET note = 'ÿ', txt = '😀' WHERE id = 1;
