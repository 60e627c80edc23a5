// The row encoding verify compares and sorts by, its text, and the order-independent checksum.
#include "verify/rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "lake/lake.h"
#include "testing/status_matchers.h"

namespace binlake::verify {
namespace {

// One Arrow array of `mysql_type` from canonical texts, through the lake's own mapping.
std::shared_ptr<arrow::Array> Column(const std::string& mysql_type,
                                     const std::vector<std::optional<std::string>>& texts) {
  staging::ColumnSchema c;
  c.name = "c";
  c.mysql_type = mysql_type;
  auto type = lake::MapColumn(c);
  EXPECT_OK(type);
  auto b = arrow::MakeBuilder(type->arrow);
  EXPECT_TRUE(b.ok());
  for (const auto& t : texts) EXPECT_OK(lake::AppendValue(*type, t, b->get()));
  std::shared_ptr<arrow::Array> a;
  EXPECT_TRUE((*b)->Finish(&a).ok());
  return a;
}

std::vector<std::string> Encoded(const arrow::Array& a) {
  std::vector<std::string> out;
  for (int64_t i = 0; i < a.length(); i++) {
    std::string e;
    EXPECT_OK(AppendOrdered(a, i, &e));
    out.push_back(std::move(e));
  }
  return out;
}

// Texts given in ascending value order encode to strictly ascending bytes and read back.
void ExpectAscendingAndReadBack(const std::string& mysql_type,
                                const std::vector<std::optional<std::string>>& texts,
                                const std::vector<std::optional<std::string>>& read_back) {
  SCOPED_TRACE(mysql_type);
  auto a = Column(mysql_type, texts);
  auto e = Encoded(*a);
  for (size_t i = 1; i < e.size(); i++) EXPECT_LT(e[i - 1], e[i]) << "value " << i;
  for (size_t i = 0; i < e.size(); i++) {
    std::string_view in = e[i];
    auto text = TakeOrderedText(*a->type(), &in);
    ASSERT_OK(text);
    EXPECT_EQ(*text, read_back[i]);
    EXPECT_TRUE(in.empty());
  }
}

TEST(VerifyRows, EncodingSortsByValueAndReadsBack) {
  ExpectAscendingAndReadBack("int", {std::nullopt, "-2147483648", "-1", "0", "7", "2147483647"},
                             {std::nullopt, "-2147483648", "-1", "0", "7", "2147483647"});
  ExpectAscendingAndReadBack("bigint unsigned",
                             {"0", "9223372036854775808", "18446744073709551615"},
                             {"0", "9223372036854775808", "18446744073709551615"});
  ExpectAscendingAndReadBack("decimal(12,2)", {"-1.50", "-0.01", "0.00", "0.01", "2.00"},
                             {"-1.50", "-0.01", "0.00", "0.01", "2.00"});
  ExpectAscendingAndReadBack("double",
                             {"-1e+300", "-0.5", "0", "5e-324", "1", "1.7976931348623157e+308"},
                             {"-1e+300", "-0.5", "0", "5e-324", "1", "1.7976931348623157e+308"});
  ExpectAscendingAndReadBack("float", {"-3.4028235e+38", "-1", "0", "1.1754944e-38", "3.14"},
                             {"-3.4028235e+38", "-1", "0", "1.1754944e-38", "3.14"});
  ExpectAscendingAndReadBack("date", {"1000-01-01", "1969-12-31", "1970-01-01", "2024-02-29"},
                             {"1000-01-01", "1969-12-31", "1970-01-01", "2024-02-29"});
  ExpectAscendingAndReadBack(
      "datetime(6)",
      {"1000-01-01 00:00:00.000000", "1969-12-31 23:59:59.999999", "2024-02-29 23:59:59.000001"},
      {"1000-01-01 00:00:00.000000", "1969-12-31 23:59:59.999999", "2024-02-29 23:59:59.000001"});
  ExpectAscendingAndReadBack("varchar(10)",
                             {std::nullopt, "", "a", std::string("a\0", 2), "ab", "b"},
                             {std::nullopt, "", "a", std::string("a\0", 2), "ab", "b"});
  ExpectAscendingAndReadBack("blob", {"", "00", "0000", "00FF", "01"},
                             {"", "00", "0000", "00FF", "01"});
}

TEST(VerifyRows, EncodingTellsNullEmptyAndNaNsApart) {
  auto s = Encoded(*Column("varchar(10)", {std::nullopt, ""}));
  EXPECT_NE(s[0], s[1]);
  // Two NaNs of other bits are one value; -0 and 0 are not (the canonical text never has -0).
  arrow::DoubleBuilder b;
  ASSERT_TRUE(b.Append(std::numeric_limits<double>::quiet_NaN()).ok());
  ASSERT_TRUE(b.Append(-std::numeric_limits<double>::quiet_NaN()).ok());
  ASSERT_TRUE(b.Append(std::bit_cast<double>(uint64_t{0x7FF0000000000001})).ok());
  ASSERT_TRUE(b.Append(-0.0).ok());
  ASSERT_TRUE(b.Append(0.0).ok());
  std::shared_ptr<arrow::Array> a;
  ASSERT_TRUE(b.Finish(&a).ok());
  auto d = Encoded(*a);
  EXPECT_EQ(d[0], d[1]);
  EXPECT_EQ(d[0], d[2]);
  EXPECT_NE(d[3], d[4]);
}

TEST(VerifyRows, LiteralsQuoteTextAndShowBytesAsHex) {
  EXPECT_EQ(Literal(*arrow::utf8(), std::string("it's")), "'it''s'");
  EXPECT_EQ(Literal(*arrow::binary(), std::string("00FF")), "0x00FF");
  EXPECT_EQ(Literal(*arrow::int32(), std::string("42")), "42");
  EXPECT_EQ(Literal(*arrow::date32(), std::string("2024-02-29")), "'2024-02-29'");
  EXPECT_EQ(Literal(*arrow::utf8(), std::nullopt), "NULL");
  // Long values are cut at a UTF-8 boundary.
  auto a = Column("text", {std::string(100, 'x'), std::string(63, 'x') + "é"});
  auto e = Encoded(*a);
  std::string_view in = e[0];
  auto text = TakeOrderedText(*a->type(), &in);
  ASSERT_OK(text);
  EXPECT_EQ(*text, std::string(64, 'x') + "...");
  in = e[1];
  text = TakeOrderedText(*a->type(), &in);
  ASSERT_OK(text);
  EXPECT_EQ(*text, std::string(63, 'x') + "...");
}

TEST(VerifyRows, ChecksumIgnoresOrderAndCountsDuplicates) {
  RowHasher h;
  const RowHash a = h.Hash("row a"), b = h.Hash("row b");
  EXPECT_EQ(h.Hash("row a"), a);
  EXPECT_NE(a, b);
  Checksum ab, ba, abb;
  ab.Add(a);
  ab.Add(b);
  ba.Add(b);
  ba.Add(a);
  abb = ab;
  abb.Add(b);
  EXPECT_EQ(ab, ba);
  EXPECT_NE(ab, abb);
  EXPECT_EQ(ab.Hex().size(), 32u);
  Checksum sum;
  sum.Add(ab);
  sum.Add(Checksum{});
  EXPECT_EQ(sum, ab);
}

}  // namespace
}  // namespace binlake::verify
