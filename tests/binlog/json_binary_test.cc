// MySQL binary JSON to text: every value type, inlining, opaque values, bounds and depth checks.
#include "binlog/json_binary.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace binlake::binlog {
namespace {

// A binary JSON value: its type byte and its bytes (what an entry's offset points at).
struct JV {
  uint8_t type;
  std::string data;
};

std::string LE(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; i++) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

JV Lit(int v) { return {0x04, LE(v, 1)}; }
JV I16(int16_t v) { return {0x05, LE(static_cast<uint16_t>(v), 2)}; }
JV U16(uint16_t v) { return {0x06, LE(v, 2)}; }
JV I32(int32_t v) { return {0x07, LE(static_cast<uint32_t>(v), 4)}; }
JV U32(uint32_t v) { return {0x08, LE(v, 4)}; }
JV I64(int64_t v) { return {0x09, LE(static_cast<uint64_t>(v), 8)}; }
JV U64(uint64_t v) { return {0x0a, LE(v, 8)}; }
JV Dbl(double d) {
  uint64_t x;
  std::memcpy(&x, &d, 8);
  return {0x0b, LE(x, 8)};
}
std::string VarLen(size_t n) {
  std::string s;
  do {
    uint8_t b = n & 0x7f;
    n >>= 7;
    s.push_back(static_cast<char>(b | (n ? 0x80 : 0)));
  } while (n);
  return s;
}
JV Str(const std::string& s) { return {0x0c, VarLen(s.size()) + s}; }
JV Opq(uint8_t field_type, const std::string& d) {
  return {0x0f, std::string(1, static_cast<char>(field_type)) + VarLen(d.size()) + d};
}

bool Inlined(uint8_t t, bool large) {
  return t == 0x04 || t == 0x05 || t == 0x06 || (large && (t == 0x07 || t == 0x08));
}

JV Container(const std::vector<std::pair<std::string, JV>>& items, bool object, bool large) {
  int os = large ? 4 : 2;
  size_t n = items.size();
  size_t key_entry = object ? os + 2 : 0;
  std::string body(2 * os + n * (key_entry + 1 + os), '\0');
  auto put = [&](size_t at, uint64_t v, int bytes) { body.replace(at, bytes, LE(v, bytes)); };
  for (size_t i = 0; i < n; i++) {
    if (!object) break;
    put(2 * os + i * key_entry, body.size(), os);
    put(2 * os + i * key_entry + os, items[i].first.size(), 2);
    body += items[i].first;
  }
  for (size_t i = 0; i < n; i++) {
    size_t e = 2 * os + n * key_entry + i * (1 + os);
    const JV& v = items[i].second;
    body[e] = static_cast<char>(v.type);
    if (Inlined(v.type, large)) {
      body.replace(e + 1, v.data.size(), v.data);
    } else {
      put(e + 1, body.size(), os);
      body += v.data;
    }
  }
  put(0, n, os);
  put(os, body.size(), os);
  return {static_cast<uint8_t>((object ? 0 : 2) + (large ? 1 : 0)), body};
}
JV Obj(const std::vector<std::pair<std::string, JV>>& items, bool large = false) {
  return Container(items, true, large);
}
JV Arr(const std::vector<JV>& items, bool large = false) {
  std::vector<std::pair<std::string, JV>> v;
  for (const auto& i : items) v.push_back({"", i});
  return Container(v, false, large);
}
std::string Doc(const JV& v) { return std::string(1, static_cast<char>(v.type)) + v.data; }

std::string ToText(const std::string& doc) {
  std::string out;
  Status st = JsonBinaryToText(doc, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// MySQL's packed DATETIME integer.
int64_t PackedDateTime(int y, int mo, int d, int h, int mi, int s, int us) {
  int64_t ymd = ((static_cast<int64_t>(y) * 13 + mo) << 5) | d;
  int64_t hms = (h << 12) | (mi << 6) | s;
  return (((ymd << 17) | hms) << 24) + us;
}

TEST(JsonBinary, Scalars) {
  EXPECT_EQ(ToText(""), "null");
  EXPECT_EQ(ToText(Doc(Lit(0))), "null");
  EXPECT_EQ(ToText(Doc(Lit(1))), "true");
  EXPECT_EQ(ToText(Doc(Lit(2))), "false");
  EXPECT_EQ(ToText(Doc(I16(-32768))), "-32768");
  EXPECT_EQ(ToText(Doc(U16(65535))), "65535");
  EXPECT_EQ(ToText(Doc(I32(-2147483647 - 1))), "-2147483648");
  EXPECT_EQ(ToText(Doc(U32(4294967295u))), "4294967295");
  EXPECT_EQ(ToText(Doc(I64(INT64_MIN))), "-9223372036854775808");
  EXPECT_EQ(ToText(Doc(U64(UINT64_MAX))), "18446744073709551615");
  EXPECT_EQ(ToText(Doc(Dbl(3.14))), "3.14");
  EXPECT_EQ(ToText(Doc(Dbl(1e100))), "1e100");
  EXPECT_EQ(ToText(Doc(Dbl(1.0))), "1.0");
  EXPECT_EQ(ToText(Doc(Dbl(-0.5))), "-0.5");
  EXPECT_EQ(ToText(Doc(Dbl(1.5e-7))), "0.00000015");
  EXPECT_EQ(ToText(Doc(Str("hi"))), "\"hi\"");
  EXPECT_EQ(ToText(Doc(Str("q\"\\\n\t\x01 \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"))),
            "\"q\\\"\\\\\\n\\t\\u0001 \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"");
  std::string long_str(300, 'x');  // two-byte variable length
  EXPECT_EQ(ToText(Doc(Str(long_str))), "\"" + long_str + "\"");
}

TEST(JsonBinary, ObjectsAndArrays) {
  JV doc = Obj({{"a", I16(1)}, {"b", Arr({Lit(1), Lit(0)})}});
  EXPECT_EQ(ToText(Doc(doc)), "{\"a\": 1, \"b\": [true, null]}");
  JV large = Obj({{"a", I16(1)}, {"b", Arr({Lit(1), Lit(0)}, true)}}, true);
  EXPECT_EQ(ToText(Doc(large)), "{\"a\": 1, \"b\": [true, null]}");
  EXPECT_EQ(ToText(Doc(Obj({}))), "{}");
  EXPECT_EQ(ToText(Doc(Arr({}))), "[]");
  // int32 is inlined only in large containers; both layouts must read back the same.
  EXPECT_EQ(ToText(Doc(Arr({I32(-5), U32(7), I64(8), U64(9), Dbl(2.5)}))), "[-5, 7, 8, 9, 2.5]");
  EXPECT_EQ(ToText(Doc(Arr({I32(-5), U32(7), I64(8), U64(9), Dbl(2.5)}, true))),
            "[-5, 7, 8, 9, 2.5]");
  JV nested = Obj({{"k\"ey", Str("v")},
                   {"n", Obj({{"deep", Arr({Str("x"), Obj({{"e", Lit(2)}})})}})},
                   {"\xe4\xb8\xad", U16(3)}});
  EXPECT_EQ(
      ToText(Doc(nested)),
      "{\"k\\\"ey\": \"v\", \"n\": {\"deep\": [\"x\", {\"e\": false}]}, \"\xe4\xb8\xad\": 3}");
}

TEST(JsonBinary, OpaqueValues) {
  // DECIMAL: precision, scale, then the binary decimal (3.14 as DECIMAL(3,2) = 0x83 0x0e).
  EXPECT_EQ(ToText(Doc(Opq(246, std::string("\x03\x02\x83\x0e", 4)))), "3.14");
  EXPECT_EQ(ToText(Doc(Arr({Opq(246, std::string("\x03\x02\x83\x0e", 4))}))), "[3.14]");
  int64_t dt = PackedDateTime(2015, 1, 15, 23, 24, 25, 0);
  EXPECT_EQ(ToText(Doc(Opq(12, LE(dt, 8)))), "\"2015-01-15 23:24:25.000000\"");
  EXPECT_EQ(ToText(Doc(Opq(7, LE(PackedDateTime(2015, 1, 15, 23, 24, 25, 120000), 8)))),
            "\"2015-01-15 23:24:25.120000\"");
  EXPECT_EQ(ToText(Doc(Opq(10, LE(PackedDateTime(2015, 1, 15, 0, 0, 0, 0), 8)))), "\"2015-01-15\"");
  int64_t t = static_cast<int64_t>((23 << 12) | (24 << 6) | 25) << 24;
  EXPECT_EQ(ToText(Doc(Opq(11, LE(t, 8)))), "\"23:24:25.000000\"");
  EXPECT_EQ(ToText(Doc(Opq(11, LE(static_cast<uint64_t>(-(t + 500000)), 8)))),
            "\"-23:24:25.500000\"");
  EXPECT_EQ(ToText(Doc(Opq(15, "\x01\x02"))), "\"base64:type15:AQI=\"");
  EXPECT_EQ(ToText(Doc(Opq(252, ""))), "\"base64:type252:\"");
}

TEST(JsonBinary, DepthLimit) {
  JV v = Lit(0);
  for (int i = 0; i < 100; i++) v = Arr({v});
  EXPECT_EQ(ToText(Doc(v)).size(), 2 * 100 + 4);
  JV deeper = Arr({v});
  std::string out;
  EXPECT_EQ(JsonBinaryToText(Doc(deeper), &out).code(), StatusCode::kCorruption);
}

TEST(JsonBinary, EveryPrefixAndBadOffsetsFail) {
  std::vector<JV> docs = {
      Obj({{"a", I16(1)}, {"b", Arr({Lit(1), Str("xyz"), Dbl(1.5)})}}),
      Obj({{"a", I64(1)}, {"bb", Arr({U32(1), Opq(15, "ab")}, true)}}, true),
      Str("hello"),
      I64(5),
      Opq(246, std::string("\x03\x02\x83\x0e", 4)),
      Opq(12, LE(PackedDateTime(2015, 1, 15, 23, 24, 25, 0), 8)),
  };
  for (const auto& d : docs) {
    std::string doc = Doc(d);
    ToText(doc);
    for (size_t n = 1; n < doc.size(); n++) {
      std::string out;
      EXPECT_EQ(JsonBinaryToText(doc.substr(0, n), &out).code(), StatusCode::kCorruption)
          << n << "/" << doc.size();
    }
  }
  std::string out;
  EXPECT_FALSE(JsonBinaryToText("\x04\x07", &out).ok());  // unknown literal
  EXPECT_FALSE(JsonBinaryToText("\x0d\x00", &out).ok());  // unknown type
  // Array of 1 whose value offset points past the container.
  EXPECT_FALSE(JsonBinaryToText(std::string("\x02\x01\x00\x07\x00\x09\x50\x00", 8), &out).ok());
  // String length running past the end.
  EXPECT_FALSE(JsonBinaryToText("\x0c\x05"
                                "ab",
                                &out)
                   .ok());
  // Variable length longer than five bytes.
  EXPECT_FALSE(JsonBinaryToText("\x0c\xff\xff\xff\xff\xff\x01", &out).ok());
}

TEST(JsonBinary, RandomCorruptionNeverCrashes) {
  std::string base = Doc(Obj({{"a", I16(1)},
                              {"b", Arr({Lit(1), Str("xyz"), Dbl(1.5), Obj({{"c", I32(7)}})})},
                              {"d", Opq(12, LE(PackedDateTime(2015, 1, 15, 1, 2, 3, 4), 8))}}));
  std::mt19937 rng(42);
  for (int iter = 0; iter < 20000; iter++) {
    std::string doc = base;
    int flips = 1 + rng() % 4;
    for (int k = 0; k < flips; k++) doc[rng() % doc.size()] = static_cast<char>(rng());
    std::string out;
    (void)JsonBinaryToText(doc, &out);
  }
}

}  // namespace
}  // namespace binlake::binlog
