// A one-million-row transaction streams through the decoder in bounded memory.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>

#include "binlog/decoder.h"
#include "binlog/stream.h"
#include "testing/test_mysql.h"

namespace binlake::binlog {
namespace {

using binlake::testing::TestMysql;

// Peak resident set size of this process so far (VmHWM), in KiB.
long PeakRssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

class BigSink : public EventSink {
 public:
  Status OnRow(const EventContext&, const RowChange& row) override {
    if (row.table->table != "big" || row.op != 'I') return {};
    int64_t id = row.after[0].i;
    if (id != next_id_) {
      return Status::Internal("row id " + std::to_string(id) + ", expected " +
                              std::to_string(next_id_));
    }
    next_id_++;
    payload_bytes_ += row.after[3].text.size();
    return {};
  }
  Status OnCommit(const EventContext&, uint64_t) override {
    if (next_id_ > 1) {
      commits_after_rows_++;
      stop_->store(true);
    }
    return {};
  }
  int64_t next_id_ = 1;
  uint64_t payload_bytes_ = 0;
  int commits_after_rows_ = 0;
  std::atomic<bool>* stop_ = nullptr;
};

TEST(StreamLargeTransaction, MillionRowTransactionInBoundedMemory) {
  auto db = TestMysql::FromEnv();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  TestMysql& m = **db;
  ASSERT_TRUE(m.Exec("CREATE DATABASE IF NOT EXISTS large_it").ok());
  ASSERT_TRUE(m.Exec("DROP TABLE IF EXISTS large_it.big").ok());
  ASSERT_TRUE(m.Exec("CREATE TABLE large_it.big (id BIGINT PRIMARY KEY, a INT, b DOUBLE, "
                     "c VARCHAR(64), d DECIMAL(12,2), e DATETIME(6), f BIGINT UNSIGNED, g TEXT)")
                  .ok());
  auto start = m.CurrentPosition();
  ASSERT_TRUE(start.ok()) << start.status().ToString();
  constexpr int64_t kRows = 1000000;
  // One statement, one transaction: ~70 MB of row events between one GTID and one XID.
  auto st = m.Exec(
      "INSERT INTO large_it.big SELECT seq, seq % 1000, seq / 7, "
      "CONCAT('row-', seq, '-', REPEAT('x', seq % 32)), seq / 100, "
      "'2024-01-01' + INTERVAL seq SECOND, seq * 1000, 'text' FROM mysql.seq_1_to_" +
      std::to_string(kRows));
  ASSERT_TRUE(st.ok()) << st.ToString();

  long rss_before = PeakRssKiB();
  BinlogStream stream(m.Options());
  Decoder decoder;
  BigSink sink;
  std::atomic<bool> stop{false};
  sink.stop_ = &stop;
  Status run = stream.Run(*start, &decoder, &sink, &stop);
  ASSERT_TRUE(run.ok()) << run.ToString();
  long rss_after = PeakRssKiB();

  EXPECT_EQ(sink.next_id_ - 1, kRows);
  EXPECT_EQ(sink.commits_after_rows_, 1);
  EXPECT_GT(sink.payload_bytes_, 10u * 1000 * 1000);
  // The transaction is ~70 MB on the wire; streaming must not hold it.
  EXPECT_LT(rss_after - rss_before, 32 * 1024)
      << "peak RSS grew by " << (rss_after - rss_before) << " KiB while streaming";
  std::printf("streamed %lld rows in one transaction; peak RSS growth %ld KiB\n",
              static_cast<long long>(kRows), rss_after - rss_before);
}

}  // namespace
}  // namespace binlake::binlog
