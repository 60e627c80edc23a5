// The CSV dialect: writer and reader round-trip every nasty value; bad input names its line.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "staging/staging.h"

namespace binlake::staging {
namespace {

using Fields = std::vector<std::optional<std::string>>;

std::string Write(const Fields& fields, const CsvOptions& o) {
  std::vector<Cell> cells;
  for (const auto& f : fields) cells.push_back(f ? Cell{false, *f} : Cell{true, {}});
  std::string out;
  AppendCsvRecord(cells, o, &out);
  return out;
}

std::vector<Fields> ReadAll(std::string_view data, const CsvOptions& o, size_t n, Status* st) {
  CsvReader r(data, o, n);
  std::vector<Fields> out;
  Fields f;
  while (r.Next(&f)) out.push_back(f);
  *st = r.status();
  return out;
}

const Fields kNasty = {"plain",
                       "",
                       std::nullopt,
                       "a,b",
                       "say \"hi\"",
                       "line1\nline2",
                       "cr\rhere",
                       "crlf\r\n",
                       "\"",
                       ",",
                       "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80",
                       "\\N",
                       " spaced ",
                       "\n",
                       "\"\"",
                       std::nullopt};

TEST(CsvTest, RoundTripsNastyValuesWithDefaultNullToken) {
  CsvOptions o;
  std::string data;
  for (int i = 0; i < 3; ++i) data += Write(kNasty, o) + "\n";
  Status st;
  auto rows = ReadAll(data, o, kNasty.size(), &st);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_EQ(r, kNasty);
}

TEST(CsvTest, EmptyStringVsNullWithDefaultToken) {
  CsvOptions o;
  EXPECT_EQ(Write({std::nullopt, "", "x"}, o), ",\"\",x");
}

TEST(CsvTest, CustomTokenAndDelimiter) {
  CsvOptions o;
  o.null_value = "\\N";
  o.delimiter = '\t';
  EXPECT_EQ(Write({std::nullopt, "\\N", "", "a\tb", "a,b"}, o), "\\N\t\"\\N\"\t\t\"a\tb\"\ta,b");
  for (char d : {',', '\t', '|', ';'}) {
    o.delimiter = d;
    std::string data = Write(kNasty, o) + "\r\n" + Write(kNasty, o);
    Status st;
    auto rows = ReadAll(data, o, kNasty.size(), &st);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0], kNasty);
    EXPECT_EQ(rows[1], kNasty);
  }
}

TEST(CsvTest, UnquotedEmptyIsStringWhenTokenIsNotEmpty) {
  CsvOptions o;
  o.null_value = "NULL";
  Status st;
  auto rows = ReadAll("NULL,,\"NULL\"\n", o, 3, &st);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (Fields{std::nullopt, "", "NULL"}));
}

TEST(CsvTest, ZeroExpectedFieldsAcceptsAnyCount) {
  Status st;
  auto rows = ReadAll("a\nb,c\n", CsvOptions{}, 0, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(rows.size(), 2u);
}

void ExpectCorruptionAt(std::string_view data, size_t n, const std::string& line_text) {
  Status st;
  ReadAll(data, CsvOptions{}, n, &st);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << data;
  EXPECT_NE(st.message().find(line_text), std::string::npos) << st.message();
}

TEST(CsvTest, ErrorsNameTheLine) {
  ExpectCorruptionAt("a,b\n\"x\ny\",z\nq,r,s\n", 2, "line 4: 3 fields, expected 2");
  ExpectCorruptionAt("a,b\nc\"d,e\n", 2, "line 2: quote inside an unquoted field");
  ExpectCorruptionAt("a,b\n\"c\"d,e\n", 2, "line 2: text after a closing quote");
  ExpectCorruptionAt("a,b\nc,d\n\"e\n\nf", 2, "unterminated quote (opened on line 3)");
}

TEST(CsvTest, StopsAfterError) {
  CsvReader r("a\"\nb\n", CsvOptions{}, 1);
  Fields f;
  EXPECT_FALSE(r.Next(&f));
  EXPECT_FALSE(r.Next(&f));
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace binlake::staging
