// GTID events the fixtures do not hold: MySQL 8.4 tagged GTIDs, built byte by byte.
#include <gtest/gtest.h>

#include <string>

#include "binlog/decoder.h"

namespace binlake::binlog {
namespace {

// MySQL serialization-library varlen integer: trailing 1-bits of the first byte count the extra
// bytes.
void PutVarlen(uint64_t v, std::string* out) {
  for (int n = 1; n <= 8; n++) {
    if (n == 8 ? v < (1ull << 56) : v < (1ull << (7 * n))) {
      uint64_t raw = (v << n) | ((1ull << (n - 1)) - 1);
      for (int i = 0; i < n; i++) out->push_back(static_cast<char>(raw >> (8 * i)));
      return;
    }
  }
  out->push_back(static_cast<char>(0xff));
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}

void PutLE(uint64_t v, int n, std::string* out) {
  for (int i = 0; i < n; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string Event(uint8_t type, const std::string& body) {
  std::string e;
  PutLE(1700000000, 4, &e);
  e.push_back(static_cast<char>(type));
  PutLE(1, 4, &e);
  PutLE(19 + body.size() + 4, 4, &e);
  PutLE(1000, 4, &e);
  PutLE(0, 2, &e);
  e += body;
  PutLE(Crc32(e), 4, &e);
  return e;
}

std::string TaggedGtidBody(const std::string& tag, int64_t gno, uint64_t extra_field = 0) {
  std::string fields;
  PutVarlen(0, &fields);  // flags
  PutVarlen(1, &fields);
  PutVarlen(1, &fields);  // sid
  for (int i = 0; i < 16; i++) PutVarlen(0x10 + i, &fields);
  PutVarlen(2, &fields);  // gno, zig-zag
  PutVarlen(static_cast<uint64_t>(gno) << 1, &fields);
  PutVarlen(3, &fields);  // tag
  PutVarlen(tag.size(), &fields);
  fields += tag;
  PutVarlen(4, &fields);
  PutVarlen(7 << 1, &fields);
  PutVarlen(6, &fields);
  PutVarlen(1700000000123456ull, &fields);
  if (extra_field) {
    PutVarlen(extra_field, &fields);
    PutVarlen(5, &fields);
  }
  // payload_size counts the version byte, itself, the last-non-ignorable id and the fields.
  std::string head;
  head.push_back(2);
  size_t size = 1 + 1 + 1 + fields.size();
  std::string ps;
  PutVarlen(size + (size >= 128 ? 1 : 0), &ps);
  head += ps;
  PutVarlen(3, &head);
  return head + fields;
}

class GtidSink : public EventSink {
 public:
  Status OnBegin(const EventContext& ctx) override {
    gtid.assign(ctx.gtid);
    return {};
  }
  Status OnRow(const EventContext&, const RowChange&) override { return {}; }
  std::string gtid;
};

TEST(DecoderGtid, TaggedGtid) {
  Decoder d;
  GtidSink sink;
  Status st = d.Decode(Event(kGtidTagged, TaggedGtidBody("orders", 42)), 4, &sink);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(sink.gtid, "10111213-1415-1617-1819-1a1b1c1d1e1f:orders:42");
  EXPECT_TRUE(d.in_transaction());
}

TEST(DecoderGtid, TaggedGtidIgnoresNewOptionalFields) {
  Decoder d;
  GtidSink sink;
  ASSERT_TRUE(d.Decode(Event(kGtidTagged, TaggedGtidBody("t", 1, 40)), 4, &sink).ok());
  EXPECT_EQ(sink.gtid, "10111213-1415-1617-1819-1a1b1c1d1e1f:t:1");
}

TEST(DecoderGtid, TaggedGtidTruncatedIsCorruption) {
  std::string body = TaggedGtidBody("orders", 42);
  for (size_t n = 0; n < body.size(); n++) {
    Decoder d;
    GtidSink sink;
    Status st = d.Decode(Event(kGtidTagged, body.substr(0, n)), 4, &sink);
    EXPECT_FALSE(st.ok()) << "prefix " << n;
  }
}

}  // namespace
}  // namespace binlake::binlog
