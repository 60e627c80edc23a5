// BinlogClient and BinlogStream against the fixture's MariaDB: events, positions, rotation,
// heartbeats, GTID start, clear errors, and exactly-once delivery across reconnects.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "binlog/client.h"
#include "binlog/decoder.h"
#include "binlog/event.h"
#include "binlog/stream.h"
#include "testing/status_matchers.h"
#include "testing/test_mysql.h"
#include "util/byte_reader.h"

namespace binlake::binlog {
namespace {

using binlake::testing::TestMysql;
using Clock = std::chrono::steady_clock;

struct Header {
  uint32_t timestamp;
  uint8_t type;
  uint32_t size;
  uint32_t log_pos;
  uint16_t flags;
};

Header ReadHeader(std::string_view ev) {
  Header h{};
  ByteReader r(ev);
  uint32_t server_id;
  EXPECT_TRUE(r.ReadU32(&h.timestamp) && r.ReadU8(&h.type) && r.ReadU32(&server_id) &&
              r.ReadU32(&h.size) && r.ReadU32(&h.log_pos) && r.ReadU16(&h.flags));
  return h;
}

bool ChecksumOk(std::string_view ev) {
  if (ev.size() < kEventHeaderSize + 4) return false;
  uint32_t stored;
  std::memcpy(&stored, ev.data() + ev.size() - 4, 4);  // little-endian host assumed (x86/arm)
  uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(ev.data()), static_cast<uInt>(ev.size() - 4));
  return static_cast<uint32_t>(crc) == stored;
}

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TestMysql::FromEnv();
    if (!t.ok() && !std::getenv("BINLAKE_TEST_MYSQL_PORT")) GTEST_SKIP() << t.status().ToString();
    ASSERT_OK(t.status());
    db_ = std::move(t).value();
    ASSERT_OK(db_->Exec("CREATE DATABASE IF NOT EXISTS stream_it"));
    ASSERT_OK(
        db_->Exec("CREATE TABLE IF NOT EXISTS stream_it.t (id INT PRIMARY KEY AUTO_INCREMENT, "
                  "v VARCHAR(32), c CHAR(4), e ENUM('a','b'))"));
  }

  Status Insert(int n) {
    for (int i = 0; i < n; i++) {
      BL_RETURN_IF_ERROR(db_->Exec("INSERT INTO stream_it.t (v, c, e) VALUES ('x', 'ab', 'b')"));
    }
    return Status::Ok();
  }

  std::unique_ptr<BinlogClient> Connect(ConnectionOptions o) {
    auto c = BinlogClient::Connect(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::unique_ptr<TestMysql> db_;
};

TEST_F(StreamTest, StreamClientReadsRowEventsWithChecksumsAndPositions) {
  auto client = Connect(db_->Options());
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->is_mariadb());
  EXPECT_NE(client->server_version().find("MariaDB"), std::string::npos);
  ASSERT_OK(client->StartDump({}));
  ASSERT_OK(Insert(3));
  std::map<uint8_t, int> types;
  std::string file = client->file();
  uint64_t expect_offset = client->pos();
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (types[kXid] < 3 && Clock::now() < deadline) {
    auto ev = client->Next();
    ASSERT_OK(ev.status());
    Header h = ReadHeader(*ev);
    ASSERT_EQ(h.size, ev->size());
    types[h.type]++;
    EXPECT_TRUE(ChecksumOk(*ev)) << "event type " << int(h.type);
    if (h.type == kHeartbeat || (h.flags & kLogEventArtificialFlag) || h.log_pos == 0) continue;
    EXPECT_EQ(client->file(), file);
    EXPECT_EQ(client->event_offset(), expect_offset) << "type " << int(h.type);
    EXPECT_EQ(h.log_pos, client->pos());
    expect_offset = h.log_pos;
  }
  EXPECT_EQ(types[kRotate], 1);  // the artificial one at stream start
  EXPECT_GE(types[kFormatDescription], 1);
  EXPECT_EQ(types[kTableMap], 3);
  EXPECT_EQ(types[kWriteRowsV1], 3);
  EXPECT_EQ(types[kMariaGtid], 3);
  EXPECT_EQ(types[kXid], 3);
  EXPECT_EQ(types[kAnnotateRows], 3);
}

TEST_F(StreamTest, StreamClientFollowsRotation) {
  auto client = Connect(db_->Options());
  ASSERT_TRUE(client);
  ASSERT_OK(client->StartDump({}));
  auto first = client->Next();  // artificial ROTATE to the current file
  ASSERT_OK(first.status());
  Header h = ReadHeader(*first);
  EXPECT_EQ(h.type, kRotate);
  EXPECT_TRUE(h.flags & kLogEventArtificialFlag);
  EXPECT_EQ(h.timestamp, 0u);
  auto before = db_->CurrentPosition();
  ASSERT_OK(before.status());
  EXPECT_EQ(client->file(), before->file);
  ASSERT_OK(db_->FlushLogs());
  auto after = db_->CurrentPosition();
  ASSERT_OK(after.status());
  ASSERT_NE(before->file, after->file);
  ASSERT_OK(Insert(1));
  bool rotated = false;
  int rows_in_new_file = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (rows_in_new_file == 0 && Clock::now() < deadline) {
    auto ev = client->Next();
    ASSERT_OK(ev.status());
    Header eh = ReadHeader(*ev);
    if (eh.type == kRotate && !(eh.flags & kLogEventArtificialFlag)) {
      rotated = true;
      EXPECT_EQ(client->file(), after->file);
      EXPECT_EQ(client->pos(), 4u);
    }
    if (eh.type == kWriteRowsV1) {
      EXPECT_TRUE(rotated);
      EXPECT_EQ(client->file(), after->file);
      rows_in_new_file++;
    }
  }
  EXPECT_TRUE(rotated);
  EXPECT_EQ(rows_in_new_file, 1);
}

TEST_F(StreamTest, StreamClientHeartbeatsWhenIdle) {
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  auto client = Connect(o);
  ASSERT_TRUE(client);
  ASSERT_OK(client->StartDump({}));
  int heartbeats = 0;
  auto start = Clock::now();
  while (heartbeats < 3 && Clock::now() - start < std::chrono::seconds(5)) {
    auto ev = client->Next();
    ASSERT_OK(ev.status());
    if (ReadHeader(*ev).type == kHeartbeat) heartbeats++;
  }
  EXPECT_EQ(heartbeats, 3);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
}

TEST_F(StreamTest, StreamClientStartsFromMariaGtid) {
  ASSERT_OK(Insert(1));
  auto gtid = db_->Scalar("SELECT @@global.gtid_binlog_pos");
  ASSERT_OK(gtid.status());
  ASSERT_FALSE(gtid->empty());
  uint64_t seq = std::stoull(gtid->substr(gtid->rfind('-') + 1));
  ASSERT_OK(Insert(2));
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  auto client = Connect(o);
  ASSERT_TRUE(client);
  StartPosition from;
  from.gtid = *gtid;
  ASSERT_OK(client->StartDump(from));
  std::vector<uint64_t> seqs;
  int rows = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    auto ev = client->Next();
    ASSERT_OK(ev.status());
    Header h = ReadHeader(*ev);
    if (h.type == kHeartbeat) break;  // caught up
    if (h.type == kWriteRowsV1) rows++;
    if (h.type == kMariaGtid) {
      ByteReader r(ev->substr(kEventHeaderSize));
      uint64_t s = 0;
      ASSERT_TRUE(r.ReadU64(&s));
      seqs.push_back(s);
    }
  }
  EXPECT_FALSE(client->file().empty());
  EXPECT_EQ(rows, 2);
  ASSERT_EQ(seqs.size(), 2u);
  EXPECT_EQ(seqs[0], seq + 1);
  EXPECT_EQ(seqs[1], seq + 2);
}

TEST_F(StreamTest, StreamClientReadsEventLargerThan16MiB) {
  ASSERT_OK(
      db_->Exec("CREATE TABLE IF NOT EXISTS stream_it.big (id INT PRIMARY KEY "
                "AUTO_INCREMENT, b LONGBLOB)"));
  auto client = Connect(db_->Options());
  ASSERT_TRUE(client);
  ASSERT_OK(client->StartDump({}));
  // 20 MiB: the event spans two protocol packets (16 MiB - 1 each), which must be reassembled.
  ASSERT_OK(db_->Exec("INSERT INTO stream_it.big (b) VALUES (REPEAT('z', 20 * 1024 * 1024))"));
  auto deadline = Clock::now() + std::chrono::seconds(15);
  bool seen = false;
  while (!seen && Clock::now() < deadline) {
    auto ev = client->Next();
    ASSERT_OK(ev.status());
    Header h = ReadHeader(*ev);
    if (h.type != kWriteRowsV1) continue;
    seen = true;
    EXPECT_GT(ev->size(), 20u * 1024 * 1024);
    EXPECT_EQ(h.size, ev->size());
    EXPECT_TRUE(ChecksumOk(*ev));
    EXPECT_EQ(h.log_pos, client->pos());
  }
  EXPECT_TRUE(seen);
  ASSERT_OK(db_->Exec("DROP TABLE stream_it.big"));
}

TEST_F(StreamTest, StreamClientWrongPasswordIsClear) {
  auto o = db_->Options();
  o.password = "not-the-Secret-42";
  auto c = BinlogClient::Connect(o);
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_TRUE(c.status().code() == StatusCode::kInvalidArgument ||
              c.status().code() == StatusCode::kServer);
  EXPECT_NE(m.find("access denied"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(db_->port())), std::string::npos) << m;
  EXPECT_EQ(m.find("not-the-Secret-42"), std::string::npos) << m;
  RecordProperty("message", m);
}

TEST_F(StreamTest, StreamClientMissingFileIsClear) {
  auto client = Connect(db_->Options());
  ASSERT_TRUE(client);
  StartPosition from;
  from.file = "binlog.999999";
  Status st = client->StartDump(from);
  Result<std::string_view> ev = std::string_view();
  if (st.ok()) {
    for (int i = 0; i < 5 && ev.ok(); i++) ev = client->Next();
    st = ev.status();
  }
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kServer) << st.ToString();
  EXPECT_NE(st.message().find("binlog.999999"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("purged"), std::string::npos) << st.message();
  RecordProperty("message", st.message());
}

TEST_F(StreamTest, StreamClientTlsAgainstPlainServerIsClear) {
  auto o = db_->Options();
  o.tls = true;
  auto c = BinlogClient::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("TLS"), std::string::npos) << c.status().message();
  RecordProperty("message", c.status().message());
}

TEST_F(StreamTest, StreamClientRejectsZeroServerId) {
  auto o = db_->Options();
  o.server_id = 0;
  auto c = BinlogClient::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

// Records the ids inserted into stream_it.s and the identity of every delivered row.
class CollectSink : public EventSink {
 public:
  Status OnRow(const EventContext& ctx, const RowChange& row) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (ctx.file != last_file_ || ctx.offset != last_offset_) {
      last_file_ = std::string(ctx.file);
      last_offset_ = ctx.offset;
      index_ = 0;
    }
    auto key = std::make_tuple(last_file_, last_offset_, index_++);
    if (!rows_.insert(key).second) duplicates_++;
    if (row.table && row.table->table == "s" && row.op == 'I' && !row.after.empty()) {
      ids_.push_back(row.after[0].i);
    }
    return {};
  }
  Status OnRotate(const EventContext&, const RotateEvent& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    rotations_.push_back(r.next_file);
    return {};
  }
  Status OnHeartbeat(const EventContext&) override {
    heartbeats_++;
    return {};
  }
  std::vector<int64_t> ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::vector<std::string> rotations() {
    std::lock_guard<std::mutex> lock(mu_);
    return rotations_;
  }
  int duplicates() {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicates_;
  }
  std::atomic<int> heartbeats_{0};

 private:
  std::mutex mu_;
  std::string last_file_;
  uint64_t last_offset_ = 0;
  int index_ = 0;
  std::set<std::tuple<std::string, uint64_t, int>> rows_;
  std::vector<int64_t> ids_;
  std::vector<std::string> rotations_;
  int duplicates_ = 0;
};

// Runs a BinlogStream on a thread; Stop() returns Run's status.
class StreamRunner {
 public:
  StreamRunner(ConnectionOptions o, StreamOptions so, StartPosition from)
      : stream_(std::move(o), so), from_(std::move(from)) {
    thread_ = std::thread([this] { status_ = stream_.Run(from_, &decoder_, &sink_, &stop_); });
  }
  ~StreamRunner() {
    if (thread_.joinable()) (void)Stop();
  }
  Status Stop() {
    stop_ = true;
    thread_.join();
    return status_;
  }
  bool WaitForIds(size_t n, int seconds = 15) {
    auto deadline = Clock::now() + std::chrono::seconds(seconds);
    while (sink_.ids().size() < n && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return sink_.ids().size() >= n;
  }
  CollectSink& sink() { return sink_; }
  BinlogStream& stream() { return stream_; }

 private:
  BinlogStream stream_;
  StartPosition from_;
  Decoder decoder_;
  CollectSink sink_;
  std::atomic<bool> stop_{false};
  Status status_;
  std::thread thread_;
};

class StreamRunTest : public StreamTest {
 protected:
  void SetUp() override {
    StreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_OK(db_->Exec("DROP TABLE IF EXISTS stream_it.s"));
    ASSERT_OK(db_->Exec("CREATE TABLE stream_it.s (id INT PRIMARY KEY, v VARCHAR(16))"));
  }
  // Inserts ids [from, to], one transaction each; `per_txn` > 1 groups statements.
  Status InsertIds(int from, int to, int per_txn = 1) {
    for (int id = from; id <= to;) {
      std::string sql = per_txn > 1 ? "BEGIN;" : "";
      for (int k = 0; k < per_txn && id <= to; k++, id++) {
        sql += "INSERT INTO stream_it.s VALUES (" + std::to_string(id) + ", 'v');";
      }
      if (per_txn > 1) sql += "COMMIT;";
      BL_RETURN_IF_ERROR(db_->Exec(sql));
    }
    return Status::Ok();
  }
  static std::vector<int64_t> Range(int from, int to) {
    std::vector<int64_t> v;
    for (int i = from; i <= to; i++) v.push_back(i);
    return v;
  }
};

TEST_F(StreamRunTest, StreamDeliversRowsAndFollowsRotation) {
  auto pos = db_->CurrentPosition();
  ASSERT_OK(pos.status());
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  StreamRunner run(o, StreamOptions{.max_reconnect_attempts = 3}, *pos);
  ASSERT_OK(InsertIds(1, 5));
  ASSERT_OK(db_->FlushLogs());
  auto next = db_->CurrentPosition();
  ASSERT_OK(next.status());
  ASSERT_OK(InsertIds(6, 10, 5));
  EXPECT_TRUE(run.WaitForIds(10));
  ASSERT_OK(run.Stop());
  EXPECT_EQ(run.sink().ids(), Range(1, 10));
  auto rot = run.sink().rotations();
  EXPECT_NE(std::find(rot.begin(), rot.end(), next->file), rot.end());
  EXPECT_EQ(run.stream().resume_file(), next->file);
  EXPECT_EQ(run.sink().duplicates(), 0);
  EXPECT_EQ(run.stream().reconnects(), 0u);
}

TEST_F(StreamRunTest, StreamExactlyOnceAcrossServerRestart) {
  auto pos = db_->CurrentPosition();
  ASSERT_OK(pos.status());
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  o.read_timeout_s = 5;
  StreamRunner run(o, StreamOptions{.max_reconnect_attempts = 30}, *pos);
  ASSERT_OK(InsertIds(1, 10));
  ASSERT_OK(InsertIds(11, 20, 4));
  ASSERT_TRUE(run.WaitForIds(20));
  ASSERT_OK(db_->Restart());
  ASSERT_OK(InsertIds(21, 30));
  ASSERT_OK(InsertIds(31, 40, 5));
  EXPECT_TRUE(run.WaitForIds(40));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a duplicate would show up now
  ASSERT_OK(run.Stop());
  EXPECT_EQ(run.sink().ids(), Range(1, 40));
  EXPECT_EQ(run.sink().duplicates(), 0);
  EXPECT_GE(run.stream().reconnects(), 1u);
}

TEST_F(StreamRunTest, StreamExactlyOnceWithMidTransactionDisconnects) {
  auto pos = db_->CurrentPosition();
  ASSERT_OK(pos.status());
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  StreamOptions so;
  so.max_reconnect_attempts = 5;
  so.initial_backoff_ms = 10;
  so.test_disconnect_every_n_events = 4;  // transactions here have 5..17 events
  StreamRunner run(o, so, *pos);
  ASSERT_OK(InsertIds(1, 5));
  ASSERT_OK(InsertIds(6, 25, 4));
  ASSERT_OK(InsertIds(26, 30));
  EXPECT_TRUE(run.WaitForIds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_OK(run.Stop());
  EXPECT_EQ(run.sink().ids(), Range(1, 30));
  EXPECT_EQ(run.sink().duplicates(), 0);
  EXPECT_GE(run.stream().reconnects(), 10u);
}

TEST_F(StreamRunTest, StreamResumesFromMariaGtid) {
  ASSERT_OK(InsertIds(1, 3));
  auto gtid = db_->Scalar("SELECT @@global.gtid_binlog_pos");
  ASSERT_OK(gtid.status());
  ASSERT_OK(InsertIds(4, 6));
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  StartPosition from;
  from.gtid = *gtid;
  StreamRunner run(o, StreamOptions{.max_reconnect_attempts = 3}, from);
  EXPECT_TRUE(run.WaitForIds(3));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_OK(run.Stop());
  EXPECT_EQ(run.sink().ids(), Range(4, 6));
}

TEST_F(StreamRunTest, StreamStopsWhenIdle) {
  auto o = db_->Options();
  o.heartbeat_period_ms = 200;
  StreamRunner run(o, StreamOptions{.max_reconnect_attempts = 3}, StartPosition{});
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (run.sink().heartbeats_ < 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(run.sink().heartbeats_.load(), 2);
  auto t0 = Clock::now();
  ASSERT_OK(run.Stop());
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(1000));
}

TEST_F(StreamRunTest, StreamGivesUpAfterMaxAttempts) {
  auto o = db_->Options();
  o.port = 1;  // nothing listens there: connection refused
  StreamOptions so;
  so.max_reconnect_attempts = 2;
  so.initial_backoff_ms = 10;
  StreamRunner run(o, so, StartPosition{});
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Status st = run.Stop();
  // Either it gave up already or it was stopped while backing off; both end Run promptly.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  if (!st.ok()) {
    EXPECT_EQ(st.code(), StatusCode::kNetwork);
    EXPECT_NE(st.message().find("giving up after 2 reconnect attempts"), std::string::npos)
        << st.message();
  }
}

TEST_F(StreamRunTest, StreamDoesNotRetryAccessDenied) {
  auto o = db_->Options();
  o.password = "wrong-Secret-77";
  StreamRunner run(o, StreamOptions{}, StartPosition{});  // unlimited retries
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Status st = run.Stop();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("access denied"), std::string::npos);
  EXPECT_EQ(st.message().find("wrong-Secret-77"), std::string::npos);
  EXPECT_EQ(run.stream().reconnects(), 0u);
}

}  // namespace
}  // namespace binlake::binlog
