// Schemas from information_schema vs TABLE_MAP, and the full load vs CDC on every type, against
// the fixture's MariaDB; snapshot consistency under concurrent writes; streaming memory.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "source/binlog_capture.h"
#include "source/source.h"
#include "testing/status_matchers.h"
#include "testing/test_mysql.h"

namespace binlake::source {
namespace {

using binlake::testing::TestMysql;
using testing::Capture;
using testing::CaptureSink;
using testing::MemoryLoadWriter;
using testing::TextRow;

std::unique_ptr<TestMysql> Db() {
  auto t = TestMysql::FromEnv();
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? std::move(t).value() : nullptr;
}

Result<std::vector<staging::TableSchema>> List(TestMysql& db, const std::string& pattern) {
  BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(db.Options()));
  TableFilter f;
  f.include = {pattern};
  return ListTables(*client, f);
}

// Upper-case ENUM/SET names: information_schema must keep their case, as the TABLE_MAP does.
constexpr const char* kAllTypes = R"(CREATE TABLE snap_it.all_types (
  id INT NOT NULL, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT UNSIGNED, i INT,
  bi BIGINT, bu BIGINT UNSIGNED, dec1 DECIMAL(10,2), dec2 DECIMAL(30,10) UNSIGNED, f FLOAT,
  d DOUBLE, b1 BIT(1), b10 BIT(10), b64 BIT(64), y YEAR, dt DATE, dtt DATETIME, dt6 DATETIME(6),
  ts3 TIMESTAMP(3) NULL, ts0 TIMESTAMP NULL, tm TIME, tm6 TIME(6), c CHAR(10), vc VARCHAR(100),
  cl CHAR(5) CHARACTER SET latin1, vcp VARCHAR(20) CHARACTER SET cp1251, bin BINARY(16),
  vb VARBINARY(50), tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, tb TINYBLOB, bl BLOB,
  mb MEDIUMBLOB, lb LONGBLOB, j JSON, e ENUM('a','B''c','d\\e'), s SET('x','Y','z'),
  s9 SET('a','b','c','d','e','f','g','h','i'), g GEOMETRY, pt POINT, nn INT NOT NULL DEFAULT 7,
  PRIMARY KEY (nn, id)))";

// Rows with edge values of every type (sql_mode='' allows the zero dates).
const std::vector<std::string> kRows = {
    "(1, -128, 255, -32768, 16777215, -2147483648, -9223372036854775808, 18446744073709551615, "
    "-12345678.90, 12345678901234567890.0123456789, 3.14, 2.718281828459045, 1, 1023, "
    "18446744073709551615, 2024, '2024-02-29', '2024-02-29 23:59:59', '2024-02-29 "
    "23:59:59.000001', '2024-02-29 23:59:59.123', '1970-01-01 00:00:01', '-838:59:59', "
    "'-00:00:01.500000', 'abc', 'hé€𝄞', 'çà', 'Привет', 'ab', x'00ff', 'tiny', 'text', "
    "'medium', 'long', x'01', x'0203', x'', x'ff', '{\"a\": [1, 2.5, \"x\"]}', 'b''c', 'x,z', "
    "'a,i', ST_GeomFromText('LINESTRING(0 0, 1 1.5)', 4326), POINT(1, -2), 1)",
    "(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e-10, 0.30000000000000004, 0, 0, 0, 0, '0000-00-00', "
    "'0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00', "
    "'0000-00-00 00:00:00', '00:00:00', '838:59:59.999999', '', '', '', '', '', '', '', '', '', "
    "'', '', '', '', '', '[]', 'd\\\\e', '', '', ST_GeomFromText('POINT(0 0)'), "
    "ST_GeomFromText('POINT(3 4)'), 2)",
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3)",
    "(4, 127, 1, 32767, 1, 2147483647, 9223372036854775807, 1, 99999999.99, 0.0000000001, "
    "16777217, 1.7976931348623157e308, 1, 512, 9223372036854775808, 1901, '9999-12-31', "
    "'9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999', "
    "'2038-01-19 03:14:07', '838:59:59', '-838:59:59.000000', 'x y  ', 'tab\\tnl\\n\"q\"', "
    "'ÿ', 'ёЁ', x'00000000000000000000000000000001', x'00', 'a,b', 'c\"d', 'e', 'f', x'00', "
    "x'00', x'00', x'00', '\"str\"', 1, 'x,y,z', 'a,b,c,d,e,f,g,h,i', "
    "ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), POINT(1e300, -1e-300), 4)",
    "(5, -1, 2, -2, 3, -3, -4, 5, -0.01, 1, -0e0, -0e0, 0, 1, 1, 2155, '1000-01-01', "
    "'1000-01-01 00:00:00', '1000-01-01 00:00:00.5', '1970-01-01 00:00:01.001', "
    "'2000-01-01 00:00:00', '-00:00:00.000001', '-00:00:00', 'z', 'z', 'z', 'z', 'z', 'z', 'z', "
    "'z', 'z', 'z', 'z', 'z', 'z', 'z', 'null', 3, 'y', 'i', NULL, NULL, 5)",
    "(6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3.4028234e38, -2.2250738585072014e-308, 1, 1, 1, 1, "
    "'2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', "
    "'2000-01-01 00:00:00', '01:02:03', '-01:02:03.4', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', "
    "'a', 'a', 'a', 'a', 'a', 'a', '1e300', 1, '', '', NULL, NULL, 6)",
    "(7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.17549435e-38, 5e-324, 1, 1, 1, 1, '2000-01-01', "
    "'2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', "
    "'01:02:03', '01:02:03', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', "
    "'a', '{}', 1, '', '', NULL, NULL, 7)",
};

TEST(SourceSchema, ListTablesMatchesTableMapAndLoadMatchesBinlog) {
  auto db = Db();
  ASSERT_TRUE(db);
  ASSERT_OK(db->Exec("DROP DATABASE IF EXISTS snap_it"));
  ASSERT_OK(db->Exec("CREATE DATABASE snap_it"));
  ASSERT_OK(db->Exec(kAllTypes));
  ASSERT_OK(db->Exec("SET SESSION sql_mode = '', time_zone = '+00:00'"));
  auto from = db->CurrentPosition();
  ASSERT_OK(from);
  for (const auto& r : kRows) ASSERT_OK(db->Exec("INSERT INTO snap_it.all_types VALUES " + r));
  auto to = db->CurrentPosition();
  ASSERT_OK(to);

  CaptureSink* cdc = nullptr;
  std::unique_ptr<CaptureSink> holder;
  ASSERT_OK(Capture(db->Options(), *from, *to, &cdc, &holder));
  ASSERT_EQ(cdc->maps.count("snap_it.all_types"), 1u);
  staging::TableSchema mapped = SchemaFromTableMap(cdc->maps["snap_it.all_types"]);

  auto listed = List(*db, "snap_it.all_types");
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 1u);
  const staging::TableSchema& t = listed->front();
  ASSERT_EQ(t.columns.size(), mapped.columns.size());
  for (size_t i = 0; i < t.columns.size(); i++) {
    const auto& a = t.columns[i];
    const auto& b = mapped.columns[i];
    SCOPED_TRACE(a.name + " " + a.mysql_type + " / map: " + b.mysql_type);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(int{a.binlog_type}, int{b.binlog_type});
    EXPECT_EQ(a.binlog_meta, b.binlog_meta);
    EXPECT_EQ(a.nullable, b.nullable);
    // MariaDB counts YEAR in the signedness bitmap (mariadb-binlog does not): `nn` after the YEAR
    // column checks that the decoder does.
    EXPECT_EQ(a.is_unsigned, b.is_unsigned);
    EXPECT_EQ(a.collation, b.collation);
    EXPECT_EQ(a.enum_values, b.enum_values);
    EXPECT_EQ(a.pk_position, b.pk_position);
  }
  EXPECT_EQ(t.columns[0].pk_position, 1);
  EXPECT_EQ(t.columns.back().pk_position, 0);

  // Full load of the same rows: byte-identical cells.
  auto snap = Snapshot::Begin(db->Options());
  ASSERT_OK(snap);
  EXPECT_EQ((*snap)->position().file, to->file);
  EXPECT_EQ((*snap)->position().pos, to->pos);
  MemoryLoadWriter load;
  std::vector<uint64_t> progress;
  auto on_progress = [&](const LoadProgress& p) { progress.push_back(p.rows_done); };
  ASSERT_OK((*snap)->LoadTable(t, &load, on_progress, nullptr));
  EXPECT_EQ(progress, std::vector<uint64_t>{kRows.size()});
  const auto& binlog_rows = cdc->inserts["snap_it.all_types"];
  ASSERT_EQ(load.data.size(), kRows.size());
  ASSERT_EQ(binlog_rows.size(), kRows.size());
  // Both ordered by the primary key (nn, id): inserted in that order.
  for (size_t r = 0; r < kRows.size(); r++) {
    for (size_t c = 0; c < t.columns.size(); c++) {
      EXPECT_EQ(load.data[r][c], binlog_rows[r][c])
          << "row " << r + 1 << " column " << t.columns[c].name;
    }
  }

  // Where SELECT text is the canonical form, CDC agrees with it too.
  auto sel = db->Query("SELECT * FROM snap_it.all_types ORDER BY nn, id");
  ASSERT_OK(sel);
  for (size_t c = 0; c < t.columns.size(); c++) {
    const uint8_t ty = t.columns[c].binlog_type;
    if (ty == binlog::kTypeFloat || ty == binlog::kTypeDouble || ty == binlog::kTypeBit ||
        ty == binlog::kTypeGeometry || t.columns[c].collation == 63) {
      continue;
    }
    for (size_t r = 0; r < kRows.size(); r++) {
      EXPECT_EQ((*sel)[r][c], binlog_rows[r][c])
          << "row " << r + 1 << " column " << t.columns[c].name;
    }
  }
  // Spot checks of the documented forms.
  auto col = [&](const std::string& name) {
    for (size_t c = 0; c < t.columns.size(); c++) {
      if (t.columns[c].name == name) return c;
    }
    return size_t{0};
  };
  EXPECT_EQ(load.data[0][col("f")], "3.14");
  EXPECT_EQ(load.data[1][col("f")], "1e-10");
  EXPECT_EQ(load.data[3][col("f")], "16777216");
  EXPECT_EQ(load.data[4][col("f")], "0");
  EXPECT_EQ(load.data[5][col("f")], "3.4028235e+38");
  EXPECT_EQ(load.data[1][col("d")], "0.30000000000000004");
  EXPECT_EQ(load.data[3][col("d")], "1.7976931348623157e+308");
  EXPECT_EQ(load.data[6][col("d")], "5e-324");
  EXPECT_EQ(load.data[0][col("b64")], "18446744073709551615");
  EXPECT_EQ(load.data[0][col("bin")], "61620000000000000000000000000000");
  EXPECT_EQ(load.data[0][col("vb")], "00FF");
  EXPECT_EQ(load.data[0][col("tm6")], "-00:00:01.500000");
  EXPECT_EQ(load.data[0][col("ts3")], "2024-02-29 23:59:59.123");
  EXPECT_EQ(load.data[1][col("dt6")], "0000-00-00 00:00:00.000000");
  EXPECT_EQ(load.data[0][col("vcp")], "Привет");
  EXPECT_EQ(load.data[0][col("e")], "B'c");  // the column's name, whatever case was inserted
  EXPECT_EQ(load.data[1][col("e")], "d\\e");
  EXPECT_EQ(load.data[0][col("pt")], "000000000101000000000000000000F03F00000000000000C0");
  EXPECT_FALSE(load.data[2][col("vc")].has_value());
  EXPECT_EQ(load.data[1][col("vc")], "");
}

TEST(SnapshotConsistency, LoadPlusLaterInsertsIsTheFinalTable) {
  auto db = Db();
  ASSERT_TRUE(db);
  ASSERT_OK(db->Exec("CREATE DATABASE IF NOT EXISTS snap_it"));
  ASSERT_OK(db->Exec("DROP TABLE IF EXISTS snap_it.moving"));
  ASSERT_OK(db->Exec("CREATE TABLE snap_it.moving (id INT PRIMARY KEY AUTO_INCREMENT, v INT)"));
  ASSERT_OK(db->Exec("INSERT INTO snap_it.moving (v) SELECT seq FROM mysql.seq_1_to_20000"));
  std::atomic<bool> done{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto w = Db();
    while (!done) {
      if (!w->Exec("INSERT INTO snap_it.moving (v) VALUES (1), (2), (3)").ok()) break;
      written += 3;
    }
  });
  while (written < 300) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto snap = Snapshot::Begin(db->Options());
  ASSERT_OK(snap);
  auto listed = List(*db, "snap_it.moving");
  ASSERT_OK(listed);
  MemoryLoadWriter load;
  ASSERT_OK((*snap)->LoadTable(listed->front(), &load, nullptr, nullptr));
  int at_load = written;
  while (written < at_load + 300) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  done = true;
  writer.join();
  auto to = db->CurrentPosition();
  ASSERT_OK(to);
  binlog::StartPosition from;
  from.file = (*snap)->position().file;
  from.pos = (*snap)->position().pos;
  CaptureSink* cdc = nullptr;
  std::unique_ptr<CaptureSink> holder;
  ASSERT_OK(Capture(db->Options(), from, *to, &cdc, &holder));

  std::map<std::string, std::string> merged;
  size_t twice = 0;
  for (const auto& r : load.data) merged[*r[0]] = *r[1];
  for (const auto& r : cdc->inserts["snap_it.moving"]) {
    twice += merged.count(*r[0]);
    merged[*r[0]] = *r[1];
  }
  EXPECT_EQ(twice, 0u);
  EXPECT_EQ(cdc->others["snap_it.moving"], 0);
  auto final_rows = db->Query("SELECT id, v FROM snap_it.moving");
  ASSERT_OK(final_rows);
  std::map<std::string, std::string> expected;
  for (const auto& r : *final_rows) expected[*r[0]] = *r[1];
  EXPECT_EQ(merged.size(), expected.size());
  EXPECT_TRUE(merged == expected);
  EXPECT_GT(cdc->inserts["snap_it.moving"].size(), 0u);
  EXPECT_GT(load.data.size(), 20000u);
  std::printf("loaded %zu rows, %zu inserts after the snapshot position\n", load.data.size(),
              cdc->inserts["snap_it.moving"].size());
}

long PeakRssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(SnapshotStreaming, MillionRowsInBoundedMemory) {
  auto db = Db();
  ASSERT_TRUE(db);
  ASSERT_OK(db->Exec("CREATE DATABASE IF NOT EXISTS snap_it"));
  ASSERT_OK(db->Exec("DROP TABLE IF EXISTS snap_it.big"));
  ASSERT_OK(
      db->Exec("CREATE TABLE snap_it.big (id BIGINT PRIMARY KEY, a INT, b DOUBLE, c VARCHAR(64), "
               "d DECIMAL(12,2), e DATETIME(6), f BIGINT UNSIGNED, g FLOAT)"));
  constexpr int kRows = 1000000;
  ASSERT_OK(
      db->Exec("INSERT INTO snap_it.big SELECT seq, seq % 1000, seq / 7, "
               "CONCAT('row-', seq, '-', REPEAT('x', seq % 32)), seq / 100, "
               "'2024-01-01' + INTERVAL seq SECOND, seq * 1000, seq / 3 FROM "
               "mysql.seq_1_to_" +
               std::to_string(kRows)));
  auto listed = List(*db, "snap_it.big");
  ASSERT_OK(listed);
  long before = PeakRssKiB();
  auto snap = Snapshot::Begin(db->Options());
  ASSERT_OK(snap);
  MemoryLoadWriter counter(false);
  std::vector<LoadProgress> reports;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_OK((*snap)->LoadTable(
      listed->front(), &counter, [&](const LoadProgress& p) { reports.push_back(p); }, nullptr));
  double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  long growth = PeakRssKiB() - before;
  EXPECT_EQ(counter.rows(), uint64_t{kRows});
  EXPECT_LT(growth, 50 * 1024) << "peak RSS grew by " << growth << " KiB";
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().rows_done, uint64_t{kRows});
  EXPECT_GT(reports.back().rows_estimated, uint64_t{kRows} / 2);

  // Reference: the server writing the same rows to a file itself.
  std::string out = db->dir() + "/snap_it_big.txt";
  std::remove(out.c_str());
  t0 = std::chrono::steady_clock::now();
  ASSERT_OK(db->Exec("SELECT * FROM snap_it.big ORDER BY id INTO OUTFILE '" + out + "'"));
  double outfile_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::remove(out.c_str());
  std::printf(
      "full load: %d rows in %.2f s (%.0f rows/s, %zu progress reports, RSS +%ld KiB); "
      "INTO OUTFILE %.2f s; ratio %.2f\n",
      kRows, load_s, kRows / load_s, reports.size(), growth, outfile_s, load_s / outfile_s);
  // Stop between rows: an error, and the snapshot connection is closed.
  auto snap2 = Snapshot::Begin(db->Options());
  ASSERT_OK(snap2);
  std::atomic<bool> stop{true};
  Status st = (*snap2)->LoadTable(listed->front(), &counter, nullptr, &stop);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("stopped after 1 rows"), std::string::npos) << st.ToString();
  snap->reset();  // its open transaction holds a metadata lock on the table
  ASSERT_OK(db->Exec("DROP TABLE snap_it.big"));
}

}  // namespace
}  // namespace binlake::source
