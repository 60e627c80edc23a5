// Cell decoding and Value rendering for every column type, from hand-built row-image bytes.
#include "binlog/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "binlog/charset.h"

namespace binlake::binlog {
namespace {

inline std::string LE(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; i++) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

inline std::string BE(uint64_t v, int n) {
  std::string s;
  for (int i = n - 1; i >= 0; i--) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

inline std::string Frac(uint32_t micros, int fsp) {
  if (fsp == 0) return "";
  if (fsp <= 2) return BE(micros / 10000, 1);
  if (fsp <= 4) return BE(micros / 100, 2);
  return BE(micros, 3);
}

inline std::string DateTime2(int y, int mo, int d, int h, int mi, int s, uint32_t us, int fsp) {
  uint64_t ym = static_cast<uint64_t>(y) * 13 + mo;
  uint64_t v = (ym << 22) | (static_cast<uint64_t>(d) << 17) | (h << 12) | (mi << 6) | s;
  return BE(v + 0x8000000000ull, 5) + Frac(us, fsp);
}

// MySQL's my_time_packed_to_binary: the fraction of a negative value borrows from the int part.
inline std::string Time2(bool neg, int h, int mi, int s, uint32_t us, int fsp) {
  int64_t hms = (static_cast<int64_t>(h) << 12) | (mi << 6) | s;
  int64_t packed = (hms << 24) + us;
  if (neg) packed = -packed;
  int64_t intpart = packed >> 24;
  int64_t frac = packed % (1ll << 24);
  if (fsp == 0) return BE(0x800000 + intpart, 3);
  if (fsp <= 2) return BE(0x800000 + intpart, 3) + BE(static_cast<uint8_t>(frac / 10000), 1);
  if (fsp <= 4) return BE(0x800000 + intpart, 3) + BE(static_cast<uint16_t>(frac / 100), 2);
  return BE(static_cast<uint64_t>(packed + 0x800000000000ll), 6);
}

ColumnDef Col(uint8_t type, uint16_t meta = 0, bool is_unsigned = false, uint32_t collation = 0) {
  ColumnDef c;
  c.type = type;
  c.meta = meta;
  c.is_unsigned = is_unsigned;
  c.collation = collation;
  return c;
}

// Decodes `bytes` fully; fails the test if the decode errs or leaves bytes unread.
Value Decode(const ColumnDef& col, const std::string& bytes) {
  Value v;
  ByteReader r(bytes);
  Status st = DecodeCell(col, r, &v);
  EXPECT_TRUE(st.ok()) << ColumnTypeName(col.type) << ": " << st.ToString();
  EXPECT_EQ(r.remaining(), 0u) << ColumnTypeName(col.type);
  return v;
}

std::string Text(const ColumnDef& col, const std::string& bytes) {
  return Decode(col, bytes).ToText();
}

std::string Json(const ColumnDef& col, const std::string& bytes) {
  std::string out;
  Decode(col, bytes).AppendJson(&out);
  return out;
}

// Every strict prefix of a valid encoding must be a Corruption, never a crash or a success.
void ExpectPrefixesFail(const ColumnDef& col, const std::string& bytes) {
  for (size_t n = 0; n < bytes.size(); n++) {
    std::string cut = bytes.substr(0, n);
    ByteReader r(cut);
    Value v;
    Status st = DecodeCell(col, r, &v);
    EXPECT_EQ(st.code(), StatusCode::kCorruption)
        << ColumnTypeName(col.type) << " prefix " << n << "/" << bytes.size();
  }
}

TEST(CellDecode, IntegersSignedAndUnsigned) {
  EXPECT_EQ(Text(Col(kTypeTiny), LE(0x80, 1)), "-128");
  EXPECT_EQ(Text(Col(kTypeTiny), LE(0x7f, 1)), "127");
  EXPECT_EQ(Text(Col(kTypeTiny, 0, true), LE(0xff, 1)), "255");
  EXPECT_EQ(Text(Col(kTypeShort), LE(0x8000, 2)), "-32768");
  EXPECT_EQ(Text(Col(kTypeShort), LE(0x7fff, 2)), "32767");
  EXPECT_EQ(Text(Col(kTypeShort, 0, true), LE(0xffff, 2)), "65535");
  EXPECT_EQ(Text(Col(kTypeInt24), LE(0x800000, 3)), "-8388608");
  EXPECT_EQ(Text(Col(kTypeInt24), LE(0x7fffff, 3)), "8388607");
  EXPECT_EQ(Text(Col(kTypeInt24), LE(0xffffff, 3)), "-1");
  EXPECT_EQ(Text(Col(kTypeInt24, 0, true), LE(0xffffff, 3)), "16777215");
  EXPECT_EQ(Text(Col(kTypeLong), LE(0x80000000, 4)), "-2147483648");
  EXPECT_EQ(Text(Col(kTypeLong), LE(0x7fffffff, 4)), "2147483647");
  EXPECT_EQ(Text(Col(kTypeLong, 0, true), LE(0xffffffff, 4)), "4294967295");
  EXPECT_EQ(Text(Col(kTypeLongLong), LE(0x8000000000000000ull, 8)), "-9223372036854775808");
  EXPECT_EQ(Text(Col(kTypeLongLong), LE(0x7fffffffffffffffull, 8)), "9223372036854775807");
  Value u = Decode(Col(kTypeLongLong, 0, true), LE(~0ull, 8));
  EXPECT_EQ(u.kind, ValueKind::kUInt);
  EXPECT_EQ(u.u, 18446744073709551615ull);
  EXPECT_EQ(u.ToText(), "18446744073709551615");
  Value s = Decode(Col(kTypeLongLong), LE(~0ull, 8));
  EXPECT_EQ(s.kind, ValueKind::kInt);
  EXPECT_EQ(s.i, -1);
  EXPECT_EQ(Json(Col(kTypeLongLong, 0, true), LE(~0ull, 8)), "18446744073709551615");
  EXPECT_EQ(Json(Col(kTypeTiny), LE(0xfe, 1)), "-2");
}

std::string F32(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  return LE(x, 4);
}
std::string F64(double d) {
  uint64_t x;
  std::memcpy(&x, &d, 8);
  return LE(x, 8);
}

TEST(CellDecode, FloatAndDouble) {
  ColumnDef f = Col(kTypeFloat, 4), d = Col(kTypeDouble, 8);
  // FLOAT prints like MariaDB's SELECT: 6 significant digits; JSON keeps the exact float.
  EXPECT_EQ(Text(f, F32(3.14f)), "3.14");
  EXPECT_EQ(Json(f, F32(3.14f)), "3.14");
  EXPECT_EQ(Text(f, F32(1e20f)), "1e20");
  EXPECT_EQ(Text(f, F32(123456.7f)), "123457");
  EXPECT_EQ(Json(f, F32(123456.7f)), "123456.7");
  EXPECT_EQ(Text(f, F32(16777217.0f)), "16777200");
  EXPECT_EQ(Text(f, F32(0.000012345678f)), "0.0000123457");
  EXPECT_EQ(Text(f, F32(1.17549435e-38f)), "1.17549e-38");
  EXPECT_EQ(Text(f, F32(-0.5f)), "-0.5");
  EXPECT_EQ(Decode(f, F32(0.1f)).d, static_cast<double>(0.1f));
  // DOUBLE: shortest round-trip digits, plain notation while the point is within 15 digits.
  EXPECT_EQ(Text(d, F64(3.14)), "3.14");
  EXPECT_EQ(Text(d, F64(1e20)), "1e20");
  EXPECT_EQ(Text(d, F64(1e100)), "1e100");
  EXPECT_EQ(Text(d, F64(1e15)), "1e15");
  EXPECT_EQ(Text(d, F64(1e14)), "100000000000000");
  EXPECT_EQ(Text(d, F64(1234567890123456.0)), "1.234567890123456e15");
  EXPECT_EQ(Text(d, F64(1e-15)), "0.000000000000001");
  EXPECT_EQ(Text(d, F64(1e-16)), "1e-16");
  EXPECT_EQ(Text(d, F64(0.000012345678901234567)), "0.000012345678901234568");
  EXPECT_EQ(Text(d, F64(1.7976931348623157e308)), "1.7976931348623157e308");
  EXPECT_EQ(Text(d, F64(-2.5)), "-2.5");
  EXPECT_EQ(Text(d, F64(0)), "0");
  EXPECT_EQ(Json(d, F64(1e20)), "1e20");
  EXPECT_EQ(Json(d, F64(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(Json(d, F64(std::numeric_limits<double>::infinity())), "null");
}

TEST(CellDecode, YearAndDate) {
  EXPECT_EQ(Text(Col(kTypeYear), LE(0, 1)), "0000");
  EXPECT_EQ(Text(Col(kTypeYear), LE(124, 1)), "2024");
  EXPECT_EQ(Text(Col(kTypeYear), LE(255, 1)), "2155");
  EXPECT_EQ(Json(Col(kTypeYear), LE(124, 1)), "2024");
  auto date = [](int y, int m, int d) { return LE((y << 9) | (m << 5) | d, 3); };
  EXPECT_EQ(Text(Col(kTypeDate), date(2024, 1, 31)), "2024-01-31");
  EXPECT_EQ(Text(Col(kTypeDate), date(0, 0, 0)), "0000-00-00");
  EXPECT_EQ(Text(Col(kTypeDate), date(9999, 12, 31)), "9999-12-31");
  EXPECT_EQ(Text(Col(kTypeDate), date(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(Json(Col(kTypeDate), date(2024, 1, 31)), "\"2024-01-31\"");
}

TEST(CellDecode, OldTemporalFormats) {
  EXPECT_EQ(Text(Col(kTypeTime), LE(8385959, 3)), "838:59:59");
  EXPECT_EQ(Text(Col(kTypeTime), LE(static_cast<uint32_t>(-8385959) & 0xffffff, 3)), "-838:59:59");
  EXPECT_EQ(Text(Col(kTypeTime), LE(10203, 3)), "01:02:03");
  EXPECT_EQ(Text(Col(kTypeDateTime), LE(20240131235958ull, 8)), "2024-01-31 23:59:58");
  EXPECT_EQ(Text(Col(kTypeDateTime), LE(0, 8)), "0000-00-00 00:00:00");
  EXPECT_EQ(Text(Col(kTypeTimestamp), LE(0, 4)), "0000-00-00 00:00:00");
  EXPECT_EQ(Text(Col(kTypeTimestamp), LE(1706745600, 4)), "2024-02-01 00:00:00");
  EXPECT_EQ(Text(Col(kTypeTimestamp), LE(0xffffffff, 4)), "2106-02-07 06:28:15");
}

TEST(CellDecode, Timestamp2AllFsp) {
  static const char* kWant[7] = {"2024-01-31 10:00:00",       "2024-01-31 10:00:00.1",
                                 "2024-01-31 10:00:00.12",    "2024-01-31 10:00:00.123",
                                 "2024-01-31 10:00:00.1234",  "2024-01-31 10:00:00.12345",
                                 "2024-01-31 10:00:00.123456"};
  for (int fsp = 0; fsp <= 6; fsp++) {
    uint32_t us = 123456 / static_cast<uint32_t>(std::pow(10, 6 - fsp)) *
                  static_cast<uint32_t>(std::pow(10, 6 - fsp));
    std::string b = BE(1706695200, 4) + Frac(us, fsp);
    Value v = Decode(Col(kTypeTimestamp2, fsp), b);
    EXPECT_EQ(v.kind, ValueKind::kTimestamp);
    EXPECT_EQ(v.i, 1706695200);
    EXPECT_EQ(v.fsp, fsp);
    EXPECT_EQ(v.t.micros, us);
    EXPECT_EQ(v.ToText(), kWant[fsp]);
  }
  EXPECT_EQ(Text(Col(kTypeTimestamp2, 3), BE(0, 4) + Frac(0, 3)), "0000-00-00 00:00:00.000");
  EXPECT_EQ(Text(Col(kTypeTimestamp2, 0), BE(1, 4)), "1970-01-01 00:00:01");
  EXPECT_EQ(Text(Col(kTypeTimestamp2, 6), BE(2147483647, 4) + Frac(999999, 6)),
            "2038-01-19 03:14:07.999999");
  EXPECT_EQ(Json(Col(kTypeTimestamp2, 1), BE(0, 4) + Frac(500000, 1)), "\"1970-01-01 00:00:00.5\"");
}

TEST(CellDecode, DateTime2AllFsp) {
  for (int fsp = 0; fsp <= 6; fsp++) {
    uint32_t us = fsp == 0 ? 0 : 120000;
    Value v = Decode(Col(kTypeDateTime2, fsp), DateTime2(2024, 1, 31, 10, 0, 0, us, fsp));
    EXPECT_EQ(v.kind, ValueKind::kDateTime);
    std::string want = "2024-01-31 10:00:00";
    if (fsp > 0) want += std::string(".120000").substr(0, fsp + 1);
    EXPECT_EQ(v.ToText(), want) << fsp;
  }
  EXPECT_EQ(Text(Col(kTypeDateTime2, 3), DateTime2(2024, 1, 31, 10, 0, 0, 120000, 3)),
            "2024-01-31 10:00:00.120");
  EXPECT_EQ(Text(Col(kTypeDateTime2, 0), DateTime2(0, 0, 0, 0, 0, 0, 0, 0)), "0000-00-00 00:00:00");
  EXPECT_EQ(Text(Col(kTypeDateTime2, 6), DateTime2(9999, 12, 31, 23, 59, 59, 999999, 6)),
            "9999-12-31 23:59:59.999999");
  EXPECT_EQ(Text(Col(kTypeDateTime2, 5), DateTime2(1000, 1, 1, 0, 0, 0, 10, 5)),
            "1000-01-01 00:00:00.00001");
}

TEST(CellDecode, Time2AllFspAndNegativeBorrow) {
  for (int fsp = 0; fsp <= 6; fsp++) {
    EXPECT_EQ(Text(Col(kTypeTime2, fsp), Time2(true, 838, 59, 59, 0, fsp)),
              "-838:59:59" + (fsp ? "." + std::string(fsp, '0') : ""));
    EXPECT_EQ(Text(Col(kTypeTime2, fsp), Time2(false, 838, 59, 59, 0, fsp)),
              "838:59:59" + (fsp ? "." + std::string(fsp, '0') : ""));
    uint32_t us = fsp == 0 ? 0 : 500000;
    EXPECT_EQ(Text(Col(kTypeTime2, fsp), Time2(true, 0, 0, 0, us, fsp)),
              fsp ? "-00:00:00.5" + std::string(fsp - 1, '0') : "00:00:00");
    EXPECT_EQ(Text(Col(kTypeTime2, fsp), Time2(true, 12, 34, 56, us, fsp)),
              "-12:34:56" + (fsp ? ".5" + std::string(fsp - 1, '0') : ""));
    EXPECT_EQ(Text(Col(kTypeTime2, fsp), Time2(false, 0, 0, 1, us, fsp)),
              "00:00:01" + (fsp ? ".5" + std::string(fsp - 1, '0') : ""));
  }
  EXPECT_EQ(Text(Col(kTypeTime2, 1), Time2(true, 0, 0, 0, 500000, 1)), "-00:00:00.5");
  EXPECT_EQ(Text(Col(kTypeTime2, 6), Time2(false, 0, 0, 1, 500000, 6)), "00:00:01.500000");
  EXPECT_EQ(Text(Col(kTypeTime2, 2), Time2(true, 1, 0, 0, 10000, 2)), "-01:00:00.01");
  EXPECT_EQ(Text(Col(kTypeTime2, 4), Time2(true, 1, 0, 0, 100, 4)), "-01:00:00.0001");
  EXPECT_EQ(Text(Col(kTypeTime2, 6), Time2(true, 838, 59, 58, 999999, 6)), "-838:59:58.999999");
  EXPECT_EQ(Text(Col(kTypeTime2, 0), Time2(false, 0, 0, 0, 0, 0)), "00:00:00");
  EXPECT_EQ(Json(Col(kTypeTime2, 0), Time2(true, 100, 0, 0, 0, 0)), "\"-100:00:00\"");
}

TEST(CellDecode, TemporalImpossibleValuesAreCorruption) {
  Value v;
  std::string b = Time2(false, 900, 0, 0, 0, 0);
  ByteReader r(b);
  EXPECT_EQ(DecodeCell(Col(kTypeTime2, 0), r, &v).code(), StatusCode::kCorruption);
  std::string dt = DateTime2(2024, 1, 1, 25, 0, 0, 0, 0);
  ByteReader r2(dt);
  EXPECT_EQ(DecodeCell(Col(kTypeDateTime2, 0), r2, &v).code(), StatusCode::kCorruption);
  std::string ts = BE(0, 4) + BE(200, 1);
  ByteReader r3(ts);
  EXPECT_EQ(DecodeCell(Col(kTypeTimestamp2, 2), r3, &v).code(), StatusCode::kCorruption);
  ByteReader r4(ts);
  EXPECT_EQ(DecodeCell(Col(kTypeTimestamp2, 7), r4, &v).code(), StatusCode::kCorruption);
}

TEST(CellDecode, StringsAndBlobs) {
  // VARCHAR: 1-byte length below 256 bytes of max length, 2 bytes from 256.
  Value v = Decode(Col(kTypeVarchar, 255, false, 45), "\x05hello");
  EXPECT_EQ(v.kind, ValueKind::kString);
  EXPECT_EQ(v.text, "hello");
  EXPECT_EQ(Text(Col(kTypeVarchar, 1020, false, 255), LE(3, 2) + "h\xc3\xa9"), "h\xc3\xa9");
  EXPECT_EQ(Text(Col(kTypeString, 40, false, 33),
                 "\x02"
                 "ab"),
            "ab");
  EXPECT_EQ(Text(Col(kTypeString, 1020, false, 33), LE(2, 2) + "ab"), "ab");
  // BINARY(6) is logged without its trailing 0x00 padding; the value has all 6 bytes, as SELECT.
  Value bin = Decode(Col(kTypeString, 6, false, 63), std::string("\x03\x00\xff\x01", 4));
  EXPECT_EQ(bin.kind, ValueKind::kBytes);
  EXPECT_EQ(bin.text, std::string("\x00\xff\x01\x00\x00\x00", 6));
  std::string j;
  bin.AppendJson(&j);
  EXPECT_EQ(j, "\"base64:AP8BAAAA\"");
  for (uint16_t prefix = 1; prefix <= 4; prefix++) {
    Value blob = Decode(Col(kTypeBlob, prefix, false, 63), LE(3, prefix) + "xyz");
    EXPECT_EQ(blob.kind, ValueKind::kBytes);
    EXPECT_EQ(blob.text, "xyz");
    Value text = Decode(Col(kTypeBlob, prefix, false, 46), LE(3, prefix) + "xyz");
    EXPECT_EQ(text.kind, ValueKind::kString);
  }
  // No metadata: BLOB stays bytes; VARCHAR is text when valid UTF-8.
  EXPECT_EQ(Decode(Col(kTypeBlob, 2), LE(1, 2) + "a").kind, ValueKind::kBytes);
  EXPECT_EQ(Decode(Col(kTypeVarchar, 10),
                   "\x01"
                   "a")
                .kind,
            ValueKind::kString);
  EXPECT_EQ(Decode(Col(kTypeVarchar, 10), "\x01\xff").kind, ValueKind::kBytes);
  EXPECT_EQ(Json(Col(kTypeVarchar, 10, false, 45),
                 "\x04"
                 "a\"\n\x01"),
            "\"a\\\"\\n\\u0001\"");
  Value empty = Decode(Col(kTypeVarchar, 10, false, 45), std::string("\x00", 1));
  EXPECT_EQ(empty.text, "");
}

TEST(Charset, CollationTable) {
  EXPECT_EQ(CharsetOfCollation(63), Charset::kBinary);
  EXPECT_EQ(CharsetOfCollation(8), Charset::kLatin1);
  EXPECT_EQ(CharsetOfCollation(33), Charset::kUtf8);
  EXPECT_EQ(CharsetOfCollation(45), Charset::kUtf8);
  EXPECT_EQ(CharsetOfCollation(255), Charset::kUtf8);
  EXPECT_EQ(CharsetOfCollation(309), Charset::kUtf8);
  EXPECT_EQ(CharsetOfCollation(248), Charset::kGb18030);
  EXPECT_EQ(CharsetOfCollation(28), Charset::kGbk);
  EXPECT_EQ(CharsetOfCollation(1032), Charset::kLatin1);
  EXPECT_EQ(CharsetOfCollation(2304), Charset::kUtf8);
  EXPECT_EQ(CharsetOfCollation(0), Charset::kUnknown);
  EXPECT_EQ(CharsetOfCollation(17), Charset::kUnknown);
  EXPECT_EQ(CharsetOfCollation(100000), Charset::kUnknown);
  EXPECT_STREQ(CharsetName(Charset::kLatin1), "latin1");
}

TEST(Charset, ConvertsToUtf8) {
  auto conv = [](uint32_t collation, const std::string& in) {
    Value v = Decode(Col(kTypeVarchar, 200, false, collation), LE(in.size(), 1) + in);
    EXPECT_EQ(v.kind, ValueKind::kString) << collation;
    return v.text;
  };
  EXPECT_EQ(conv(8, "caf\xe9 \x80"), "caf\xc3\xa9 \xe2\x82\xac");   // latin1 is cp1252
  EXPECT_EQ(conv(8, "\x81\x8d"), "\xc2\x81\xc2\x8d");               // undefined cp1252 bytes
  EXPECT_EQ(conv(11, "plain"), "plain");                            // ascii
  EXPECT_EQ(conv(9, "\xb1"), "\xc4\x85");                           // latin2 a-ogonek
  EXPECT_EQ(conv(51, "\xcf\xf0\xe8"), "\xd0\x9f\xd1\x80\xd0\xb8");  // cp1251 "При"
  EXPECT_EQ(conv(7, "\xf1"), "\xd0\xaf");                           // koi8r Ya
  EXPECT_EQ(conv(25, "\xe1"), "\xce\xb1");                          // greek alpha
  EXPECT_EQ(conv(16, "\xe0"), "\xd7\x90");                          // hebrew alef
  EXPECT_EQ(conv(28, "\xd6\xd0"), "\xe4\xb8\xad");                  // gbk 中
  EXPECT_EQ(conv(24, "\xd6\xd0"), "\xe4\xb8\xad");                  // gb2312 中
  EXPECT_EQ(conv(248, "\xd6\xd0"), "\xe4\xb8\xad");                 // gb18030 中
  EXPECT_EQ(conv(1, "\xa4\xa4"), "\xe4\xb8\xad");                   // big5 中
  EXPECT_EQ(conv(13, "\x82\xa0"), "\xe3\x81\x82");                  // sjis あ
  EXPECT_EQ(conv(12, "\xa4\xa2"), "\xe3\x81\x82");                  // ujis あ
  EXPECT_EQ(conv(19, "\xb0\xa1"), "\xea\xb0\x80");                  // euckr 가
  EXPECT_EQ(conv(35, std::string("\x00\x41\x20\xac", 4)), "A\xe2\x82\xac");  // ucs2
  EXPECT_EQ(conv(54, std::string("\xd8\x3d\xde\x00", 4)),
            "\xf0\x9f\x98\x80");                         // utf16 surrogate pair
  EXPECT_EQ(conv(56, std::string("\x41\x00", 2)), "A");  // utf16le
  EXPECT_EQ(conv(60, std::string("\x00\x01\xf6\x00", 4)), "\xf0\x9f\x98\x80");  // utf32
  // Bytes invalid in their charset stay as exact bytes.
  Value bad = Decode(Col(kTypeVarchar, 200, false, 54), "\x01\xd8\x00");
  EXPECT_EQ(bad.kind, ValueKind::kBytes);
}

TEST(CellDecode, EnumSetBit) {
  ColumnDef e = Col(kTypeEnum, 1);
  EXPECT_EQ(Text(e, LE(2, 1)), "2");
  EXPECT_EQ(Json(e, LE(2, 1)), "2");
  e.enum_values = {"red", "green", "blue"};
  Value ev = Decode(e, LE(2, 1));
  EXPECT_EQ(ev.u, 2u);
  EXPECT_TRUE(ev.names_known);
  EXPECT_EQ(ev.ToText(), "green");
  EXPECT_EQ(Json(e, LE(3, 1)), "\"blue\"");
  EXPECT_EQ(Text(e, LE(0, 1)), "");
  EXPECT_EQ(Text(Col(kTypeEnum, 2), LE(300, 2)), "300");
  ColumnDef s = Col(kTypeSet, 1);
  EXPECT_EQ(Text(s, LE(5, 1)), "5");
  s.set_values = {"a", "b", "c"};
  EXPECT_EQ(Text(s, LE(5, 1)), "a,c");
  EXPECT_EQ(Text(s, LE(0, 1)), "");
  EXPECT_EQ(Json(s, LE(7, 1)), "\"a,b,c\"");
  EXPECT_EQ(Text(Col(kTypeSet, 8), LE(~0ull, 8)), "18446744073709551615");
  // BIT(1), BIT(10) = 1 whole byte + 2 bits, BIT(64).
  EXPECT_EQ(Text(Col(kTypeBit, 1 << 8), "\x01"), "1");
  EXPECT_EQ(Text(Col(kTypeBit, (2 << 8) | 1), BE(0x3ff, 2)), "1023");
  EXPECT_EQ(Text(Col(kTypeBit, 8), BE(~0ull, 8)), "18446744073709551615");
  EXPECT_EQ(Json(Col(kTypeBit, 1), "\x80"), "128");
}

TEST(CellDecode, GeometryJsonVector) {
  std::string wkb("\x01\x01\x00\x00\x00", 5);
  wkb += std::string(16, '\0');
  std::string g = LE(4326, 4) + wkb;
  Value v = Decode(Col(kTypeGeometry, 4), LE(g.size(), 4) + g);
  EXPECT_EQ(v.kind, ValueKind::kGeometry);
  EXPECT_EQ(v.u, 4326u);
  EXPECT_EQ(v.text, wkb);
  EXPECT_EQ(v.ToText(), g);
  std::string j;
  v.AppendJson(&j);
  EXPECT_EQ(j, "{\"srid\":4326,\"wkb\":\"0101000000" + std::string(32, '0') + "\"}");
  // JSON column: binary JSON, here the literal true; an empty document is null.
  EXPECT_EQ(Text(Col(kTypeJson, 4), LE(2, 4) + std::string("\x04\x01", 2)), "true");
  EXPECT_EQ(Text(Col(kTypeJson, 4), LE(0, 4)), "null");
  EXPECT_EQ(Json(Col(kTypeJson, 2), LE(2, 2) + std::string("\x04\x02", 2)), "false");
  Value vec = Decode(Col(kTypeVector, 4), LE(4, 4) + F32(1.5f));
  EXPECT_EQ(vec.kind, ValueKind::kBytes);
}

TEST(CellDecode, UnsupportedTypes) {
  for (int t : {0, 20, 243, 244, 100}) {
    std::string b(16, '\0');
    ByteReader r(b);
    Value v;
    Status st = DecodeCell(Col(static_cast<uint8_t>(t)), r, &v);
    EXPECT_EQ(st.code(), StatusCode::kNotSupported);
    EXPECT_NE(st.message().find(ColumnTypeName(static_cast<uint8_t>(t))), std::string::npos);
  }
}

TEST(CellDecode, EveryPrefixIsCorruption) {
  ColumnDef e = Col(kTypeEnum, 2);
  e.enum_values = {"x"};
  std::vector<std::pair<ColumnDef, std::string>> cases = {
      {Col(kTypeTiny), LE(1, 1)},
      {Col(kTypeShort), LE(1, 2)},
      {Col(kTypeInt24), LE(1, 3)},
      {Col(kTypeLong), LE(1, 4)},
      {Col(kTypeLongLong, 0, true), LE(1, 8)},
      {Col(kTypeFloat, 4), F32(1)},
      {Col(kTypeDouble, 8), F64(1)},
      {Col(kTypeNewDecimal, (65 << 8) | 30), "\x80" + std::string(29, '\0')},
      {Col(kTypeNewDecimal, (10 << 8) | 2), std::string("\x80\x00\x00\x01\x00", 5)},
      {Col(kTypeYear), LE(1, 1)},
      {Col(kTypeDate), LE(1 << 9, 3)},
      {Col(kTypeTime), LE(1, 3)},
      {Col(kTypeDateTime), LE(20240101000000ull, 8)},
      {Col(kTypeTimestamp), LE(1, 4)},
      {Col(kTypeVarchar, 10, false, 45),
       "\x03"
       "abc"},
      {Col(kTypeVarchar, 300, false, 8), LE(3, 2) + "abc"},
      {Col(kTypeString, 300, false, 63), LE(3, 2) + "abc"},
      {Col(kTypeBlob, 3, false, 63), LE(3, 3) + "abc"},
      {Col(kTypeJson, 4), LE(2, 4) + std::string("\x04\x00", 2)},
      {Col(kTypeGeometry, 4), LE(5, 4) + LE(0, 4) + "\x01"},
      {Col(kTypeVector, 4), LE(4, 4) + F32(1)},
      {e, LE(1, 2)},
      {Col(kTypeSet, 8), LE(1, 8)},
      {Col(kTypeBit, (3 << 8) | 2), BE(1, 3)},
  };
  for (int fsp = 0; fsp <= 6; fsp++) {
    cases.push_back({Col(kTypeTimestamp2, fsp), BE(1, 4) + Frac(0, fsp)});
    cases.push_back({Col(kTypeDateTime2, fsp), DateTime2(2024, 1, 1, 1, 1, 1, 0, fsp)});
    cases.push_back({Col(kTypeTime2, fsp), Time2(true, 1, 1, 1, fsp ? 500000 : 0, fsp)});
  }
  for (const auto& [col, bytes] : cases) {
    Decode(col, bytes);
    ExpectPrefixesFail(col, bytes);
  }
}

TEST(Value, ToTextAndJsonOfEveryKind) {
  Value v;
  EXPECT_EQ(v.ToText(), "NULL");
  std::string j;
  v.AppendJson(&j);
  EXPECT_EQ(j, "null");
  v.kind = ValueKind::kDecimal;
  v.text = "-1.50";
  EXPECT_EQ(v.ToText(), "-1.50");
  j.clear();
  v.AppendJson(&j);
  EXPECT_EQ(j, "\"-1.50\"");
  v.kind = ValueKind::kTime;
  v.fsp = 0;
  v.t = Temporal{};
  v.t.hour = 5;
  EXPECT_EQ(v.ToText(), "05:00:00");
  v.kind = ValueKind::kJson;
  v.text = "{\"a\": 1}";
  j.clear();
  v.AppendJson(&j);
  EXPECT_EQ(j, "{\"a\": 1}");
}

TEST(Value, JsonStringEscaping) {
  std::string out;
  AppendJsonString("a\"b\\c\b\f\n\r\t\x1f\x7f/", &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u001f\x7f/\"");
  out.clear();
  AppendJsonString("\xe4\xb8\xad\xf0\x9f\x98\x80", &out);  // valid UTF-8 stays as is
  EXPECT_EQ(out, "\"\xe4\xb8\xad\xf0\x9f\x98\x80\"");
  out.clear();
  AppendJsonString("a\xff\xc3(\xed\xa0\x80", &out);  // invalid bytes, never dropped
  EXPECT_EQ(out, "\"a\\u00ff\\u00c3(\\u00ed\\u00a0\\u0080\"");
  out.clear();
  AppendJsonString(std::string("\x00", 1), &out);
  EXPECT_EQ(out, "\"\\u0000\"");
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));
}

TEST(Value, ColumnTypeNames) {
  EXPECT_STREQ(ColumnTypeName(kTypeNewDecimal), "NEWDECIMAL");
  EXPECT_STREQ(ColumnTypeName(kTypeTime2), "TIME2");
  EXPECT_STREQ(ColumnTypeName(kTypeVarString), "VAR_STRING");
  EXPECT_STREQ(ColumnTypeName(77), "UNKNOWN");
}

}  // namespace
}  // namespace binlake::binlog
