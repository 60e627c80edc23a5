// The decoder on real binlog files from MySQL 5.0 to 8.0 and MariaDB (tests/data/binlogs).
#include "binlog/decoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "binlog/row_json.h"

namespace binlake::binlog {
namespace {

std::string DataPath(const std::string& name) {
  return std::string(BINLAKE_SOURCE_DIR) + "/tests/data/binlogs/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CollectSink : public EventSink {
 public:
  Status OnEvent(const EventContext& ctx) override {
    event_types[ctx.header->type]++;
    return {};
  }
  Status OnRow(const EventContext& ctx, const RowChange& row) override {
    AppendRowJson(ctx, row, &json);
    ops.push_back(row.op);
    return {};
  }
  Status OnBegin(const EventContext&) override {
    begins++;
    return {};
  }
  Status OnCommit(const EventContext&, uint64_t) override {
    commits++;
    return {};
  }
  Status OnQuery(const EventContext&, std::string_view, std::string_view q, bool dml) override {
    if (dml) statement_dml.emplace_back(q);
    return {};
  }
  std::map<int, int> event_types;
  std::string json;
  std::vector<char> ops;
  std::vector<std::string> statement_dml;
  int begins = 0, commits = 0;
};

struct FixtureCase {
  const char* file;
  int rows;
};

class FixtureTest : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureTest, DecodesEveryEvent) {
  Decoder decoder;
  CollectSink sink;
  Status st = DecodeBinlogFile(DataPath(GetParam().file), &decoder, &sink);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(static_cast<int>(sink.ops.size()), GetParam().rows) << sink.json;
}

INSTANTIATE_TEST_SUITE_P(
    Decoder, FixtureTest,
    ::testing::Values(
        FixtureCase{"binlog_savepoint.000001", 0}, FixtureCase{"binlog_transaction.000001", 0},
        FixtureCase{"binlog_transaction_with_GTID.000001", 0}, FixtureCase{"bug16266.000001", 0},
        FixtureCase{"mariadb-bin.000001", 2}, FixtureCase{"minimal_row_metadata.000001", 1},
        FixtureCase{"mysql-enum-string-set.000001", 3}, FixtureCase{"mysql_type_bit.000001", 1},
        FixtureCase{"ver_5_1_23.001", 5}, FixtureCase{"update-full-row.binlog", 7},
        FixtureCase{"write-full-row.binlog", 7}, FixtureCase{"json.binlog.000001", 18},
        FixtureCase{"transaction_compression.000001", 1}),
    [](const auto& info) {
      std::string n = info.param.file;
      for (auto& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

TEST(Decoder, TransactionsBalance) {
  Decoder decoder;
  CollectSink sink;
  ASSERT_TRUE(DecodeBinlogFile(DataPath("binlog_savepoint.000001"), &decoder, &sink).ok());
  EXPECT_EQ(sink.begins, 1);
  EXPECT_EQ(sink.commits, 1);
  // Statement-based DML is reported, never silently dropped.
  EXPECT_EQ(sink.statement_dml.size(), 5u);
  EXPECT_FALSE(decoder.in_transaction());
}

TEST(Decoder, MariaDbGtidAndNames) {
  Decoder decoder;
  CollectSink sink;
  ASSERT_TRUE(DecodeBinlogFile(DataPath("mariadb-bin.000001"), &decoder, &sink).ok());
  EXPECT_NE(sink.json.find("\"gtid\":\"0-1-"), std::string::npos) << sink.json;
  EXPECT_NE(sink.json.find("\"table\":\"outbox\""), std::string::npos) << sink.json;
}

TEST(Decoder, CompressedTransactionPayload) {
  Decoder decoder;
  CollectSink sink;
  ASSERT_TRUE(DecodeBinlogFile(DataPath("transaction_compression.000001"), &decoder, &sink).ok());
  EXPECT_EQ(sink.event_types[kTransactionPayload], 1);
  EXPECT_GE(sink.event_types[kTableMap], 1);
}

// Every truncation of every fixture must give an error naming the offset, never a crash.
TEST(Decoder, TruncatedFilesFailCleanly) {
  for (const char* f : {"mariadb-bin.000001", "json.binlog.000001", "ver_5_1_23.001",
                        "transaction_compression.000001", "mysql-enum-string-set.000001"}) {
    std::string data = ReadFile(DataPath(f));
    ASSERT_GT(data.size(), 4u);
    for (size_t len = 5; len < data.size(); len += (data.size() > 10000 ? 97 : 1)) {
      Decoder decoder;
      CollectSink sink;
      Status st = DecodeBinlogBuffer(std::string_view(data).substr(0, len), f, &decoder, &sink);
      // A cut exactly at an event boundary is a valid, shorter file.
      if (!st.ok()) {
        EXPECT_EQ(st.code(), StatusCode::kCorruption)
            << f << " len " << len << ": " << st.ToString();
        EXPECT_NE(st.message().find(std::string(f) + ":"), std::string::npos) << st.message();
      }
    }
  }
}

TEST(Decoder, CorruptByteFailsChecksum) {
  std::string data = ReadFile(DataPath("mariadb-bin.000001"));
  std::mt19937 rng(42);
  int checksum_errors = 0;
  for (int i = 0; i < 300; i++) {
    std::string bad = data;
    size_t pos = 4 + rng() % (bad.size() - 4);
    bad[pos] = static_cast<char>(bad[pos] ^ (1 + rng() % 255));
    Decoder decoder;
    CollectSink sink;
    Status st = DecodeBinlogBuffer(bad, "bad", &decoder, &sink);
    ASSERT_FALSE(st.ok()) << "flipped byte at " << pos << " went unnoticed";
    if (st.message().find("checksum") != std::string::npos) checksum_errors++;
  }
  EXPECT_GT(checksum_errors, 200);
}

TEST(Decoder, NotABinlog) {
  Decoder decoder;
  CollectSink sink;
  Status st = DecodeBinlogBuffer("hello world", "x.txt", &decoder, &sink);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("not a binlog"), std::string::npos);
  st = DecodeBinlogFile("/nonexistent/binlog.000001", &decoder, &sink);
  EXPECT_EQ(st.code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace binlake::binlog

namespace binlake::binlog {
namespace {

// Inputs the fuzzer once found to crash or hang the decoder: each must now end, with any status.
TEST(Decoder, FuzzRegressions) {
  std::string dir = std::string(BINLAKE_SOURCE_DIR) + "/tests/data/fuzz-regressions/";
  for (const char* f : {"empty-row-image-loop.bin", "payload-huge-claimed-size.bin"}) {
    std::string data = ReadFile(dir + f);
    ASSERT_FALSE(data.empty()) << f;
    DecoderOptions opts;
    opts.verify_checksum = false;
    Decoder decoder(opts);
    CollectSink sink;
    Status st = DecodeBinlogBuffer(data, f, &decoder, &sink);
    EXPECT_FALSE(st.ok()) << f;
  }
}

}  // namespace
}  // namespace binlake::binlog
