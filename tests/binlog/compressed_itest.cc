// MariaDB's compressed binlog events (log_bin_compress): QUERY_COMPRESSED and the compressed rows
// events decode to the same rows as uncompressed ones.
#include <gtest/gtest.h>

#include <map>

#include "binlog/decoder.h"
#include "binlog/row_json.h"
#include "testing/status_matchers.h"
#include "testing/test_mysql.h"

namespace binlake::binlog {
namespace {

using binlake::testing::TestMysql;

class TypeCountingSink : public EventSink {
 public:
  Status OnEvent(const EventContext& ctx) override {
    types[ctx.header->type]++;
    return {};
  }
  Status OnRow(const EventContext&, const RowChange& row) override {
    if (row.table->table != "z") return {};
    const auto& image = row.op == 'D' ? row.before : row.after;
    rows.push_back(std::string(1, row.op) + image[0].ToText() + "=" + image[1].ToText());
    return {};
  }
  std::map<int, int> types;
  std::vector<std::string> rows;
};

TEST(MariaDbCompressed, CompressedEventsDecode) {
  auto db = TestMysql::FromEnv();
  ASSERT_OK(db);
  TestMysql& m = **db;
  ASSERT_OK(m.Exec("CREATE DATABASE IF NOT EXISTS compressed_it"));
  ASSERT_OK(m.Exec("DROP TABLE IF EXISTS compressed_it.z"));
  ASSERT_OK(m.Exec("CREATE TABLE compressed_it.z (id INT PRIMARY KEY, v TEXT)"));
  ASSERT_OK(m.Exec("FLUSH BINARY LOGS"));
  auto start = m.CurrentPosition();
  ASSERT_OK(start);
  ASSERT_OK(m.Exec("SET GLOBAL log_bin_compress = ON"));
  ASSERT_OK(m.Exec("SET GLOBAL log_bin_compress_min_len = 10"));
  Status work = m.Exec(
      "INSERT INTO compressed_it.z SELECT seq, REPEAT(CONCAT('row ', seq, ' '), 50) "
      "FROM mysql.seq_1_to_200");
  if (work.ok()) {
    work = m.Exec("UPDATE compressed_it.z SET v = CONCAT('updated ', id) WHERE id <= 3");
  }
  if (work.ok()) work = m.Exec("DELETE FROM compressed_it.z WHERE id = 200");
  if (work.ok()) work = m.Exec("ALTER TABLE compressed_it.z COMMENT 'a compressed DDL statement'");
  ASSERT_OK(m.Exec("SET GLOBAL log_bin_compress = OFF"));
  ASSERT_OK(work);
  ASSERT_OK(m.Exec("FLUSH BINARY LOGS"));

  Decoder decoder;
  TypeCountingSink sink;
  ASSERT_OK(DecodeBinlogFile(m.dir() + "/data/" + start->file, &decoder, &sink));
  EXPECT_GT(sink.types[kQueryCompressed], 0);
  EXPECT_GT(sink.types[kWriteRowsCompressedV1], 0);
  EXPECT_GT(sink.types[kUpdateRowsCompressedV1], 0);
  EXPECT_GT(sink.types[kDeleteRowsCompressedV1], 0);
  ASSERT_EQ(sink.rows.size(), 200u + 3u + 1u);
  std::string row1;
  for (int i = 0; i < 50; i++) row1 += "row 1 ";
  EXPECT_EQ(sink.rows[0], "I1=" + row1);
  EXPECT_EQ(sink.rows[200], "U1=updated 1");
  EXPECT_EQ(sink.rows[203].substr(0, 4), "D200");
}

}  // namespace
}  // namespace binlake::binlog
