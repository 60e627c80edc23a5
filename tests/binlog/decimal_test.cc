// MySQL binary DECIMAL decoding: documented vectors and an independent encoder for edge values.
#include <gtest/gtest.h>

#include "binlog/value.h"

namespace binlake::binlog {
namespace {

// Encodes decimal text as MySQL's decimal2bin does: 9 digits per 4 bytes, leftovers packed small.
std::string Encode(const std::string& text, int precision, int scale) {
  static constexpr int kBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
  bool neg = text[0] == '-';
  std::string t = neg ? text.substr(1) : text;
  size_t dot = t.find('.');
  std::string ip = t.substr(0, dot), fp = dot == std::string::npos ? "" : t.substr(dot + 1);
  int intg = precision - scale;
  while (!ip.empty() && ip[0] == '0') ip.erase(0, 1);
  ip = std::string(intg - ip.size(), '0') + ip;
  fp += std::string(scale - fp.size(), '0');
  std::string out;
  auto put = [&](const std::string& digits) {
    uint32_t v = digits.empty() ? 0 : std::stoul(digits);
    int n = kBytes[digits.size()];
    for (int k = n - 1; k >= 0; k--) out.push_back(static_cast<char>(v >> (8 * k)));
  };
  size_t lead = intg % 9;
  put(ip.substr(0, lead));
  for (size_t k = lead; k < ip.size(); k += 9) put(ip.substr(k, 9));
  size_t full = scale / 9 * 9;
  for (size_t k = 0; k < full; k += 9) put(fp.substr(k, 9));
  put(fp.substr(full));
  if (neg) {
    for (char& c : out) c = static_cast<char>(~c);
  }
  out[0] = static_cast<char>(out[0] ^ 0x80);
  return out;
}

std::string Decode(const std::string& bytes, int precision, int scale) {
  ByteReader r(bytes);
  std::string out;
  Status st = DecodeDecimal(r, precision, scale, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.remaining(), 0u);
  return out;
}

TEST(Decimal, DocumentedVectors) {
  // From MySQL's strings/decimal.cc: 1234567890.1234 as DECIMAL(14,4).
  EXPECT_EQ(Decode(std::string("\x81\x0D\xFB\x38\xD2\x04\xD2", 7), 14, 4), "1234567890.1234");
  EXPECT_EQ(Decode(std::string("\x7E\xF2\x04\xC7\x2D\xFB\x2D", 7), 14, 4), "-1234567890.1234");
  EXPECT_EQ(Encode("1234567890.1234", 14, 4), std::string("\x81\x0D\xFB\x38\xD2\x04\xD2", 7));
}

TEST(Decimal, EdgeValuesRoundTrip) {
  struct Case {
    const char* text;
    int precision, scale;
  };
  std::string max65 = std::string(35, '9') + "." + std::string(30, '9');
  std::vector<Case> cases = {
      {"0.50", 4, 2},        {"-12.000", 5, 3},
      {"1234567890", 10, 0}, {"-1234567890", 10, 0},
      {"0", 10, 0},          {"0.12345", 5, 5},
      {"-0.00001", 5, 5},    {"-123.45", 10, 2},
      {"0.00", 10, 2},       {"1", 1, 0},
      {"-9", 1, 0},          {"999999999", 9, 0},
      {"1000000000", 10, 0}, {"0.000000001", 9, 9},
      {"12.3", 4, 1},        {"-99999999999999999.999999999999999999", 35, 18},
  };
  cases.push_back({max65.c_str(), 65, 30});
  std::string min65 = "-" + max65;
  cases.push_back({min65.c_str(), 65, 30});
  std::string int65(65, '9');
  cases.push_back({int65.c_str(), 65, 0});
  for (const auto& c : cases) {
    std::string bytes = Encode(c.text, c.precision, c.scale);
    EXPECT_EQ(Decode(bytes, c.precision, c.scale), c.text) << c.precision << "," << c.scale;
    for (size_t n = 0; n < bytes.size(); n++) {
      ByteReader r(std::string_view(bytes).substr(0, n));
      std::string out;
      EXPECT_EQ(DecodeDecimal(r, c.precision, c.scale, &out).code(), StatusCode::kCorruption);
    }
  }
}

TEST(Decimal, NegativeZeroAndInvalid) {
  // All digits zero with the sign bit clear prints without a sign.
  EXPECT_EQ(Decode(std::string("\x7f\xff\xff\xff\xff", 5), 10, 0), "0");
  std::string out;
  std::string bad("\x80\xff\xff\xff\xff", 5);  // a 9-digit word above 999999999
  ByteReader r(bad);
  EXPECT_EQ(DecodeDecimal(r, 10, 0, &out).code(), StatusCode::kCorruption);
  ByteReader r2(bad);
  EXPECT_EQ(DecodeDecimal(r2, 66, 0, &out).code(), StatusCode::kCorruption);
  ByteReader r3(bad);
  EXPECT_EQ(DecodeDecimal(r3, 5, 6, &out).code(), StatusCode::kCorruption);
}

TEST(Decimal, CellUsesMeta) {
  ColumnDef col;
  col.type = kTypeNewDecimal;
  col.meta = (10 << 8) | 2;
  std::string bytes = Encode("-123.45", 10, 2);
  ByteReader r(bytes);
  Value v;
  ASSERT_TRUE(DecodeCell(col, r, &v).ok());
  EXPECT_EQ(v.kind, ValueKind::kDecimal);
  EXPECT_EQ(v.ToText(), "-123.45");
  std::string j;
  v.AppendJson(&j);
  EXPECT_EQ(j, "\"-123.45\"");
}

}  // namespace
}  // namespace binlake::binlog
