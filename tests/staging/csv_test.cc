// The CSV dialect: writer and reader round-trip every nasty value; bad input names its line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "staging/staging.h"
#include "testing/remote_like_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

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

TEST(CsvTest, ViewsMatchCopies) {
  const std::string data = "a,\"b\"\"c\",,\"\"\n\"x\ny\",\"\"\"\",z,\"\"\"\"\"\"\"\"\"\"\n";
  CsvReader copies(data, CsvOptions{}, 4), views(data, CsvOptions{}, 4);
  Fields f;
  std::vector<std::optional<std::string_view>> v;
  int records = 0;
  while (copies.Next(&f)) {
    ASSERT_TRUE(views.NextViews(&v));
    ASSERT_EQ(f.size(), v.size());
    for (size_t i = 0; i < f.size(); i++) {
      EXPECT_EQ(f[i].has_value(), v[i].has_value());
      if (f[i] && v[i]) {
        EXPECT_EQ(*f[i], *v[i]);
      }
    }
    records++;
  }
  EXPECT_FALSE(views.NextViews(&v));
  EXPECT_EQ(records, 2);
  CsvReader r(data, CsvOptions{}, 4);
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f, (Fields{"a", "b\"c", std::nullopt, ""}));
  ASSERT_TRUE(r.Next(&f));
  EXPECT_EQ(f, (Fields{"x\ny", "\"", "z", "\"\"\"\""}));
}

// A file read in small blocks parses to the same records, with the same line numbers, as whole.
TEST(CsvTest, BlocksEndAtRecordsAndKeepLineNumbers) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/f.csv";
  std::string data;
  CsvOptions o;
  for (int i = 0; i < 500; i++) {
    data += Write({std::to_string(i), kNasty[static_cast<size_t>(i) % kNasty.size()],
                   i % 7 == 0 ? std::nullopt : Fields::value_type("v" + std::string(i % 50, 'x'))},
                  o);
    data += i % 3 == 0 ? "\r\n" : "\n";
  }
  data += "1,2\n";  // a bad record: 2 fields, 3 expected
  std::ofstream(path, std::ios::binary) << data;
  Status whole_status;
  const auto whole = ReadAll(data, o, 3, &whole_status);
  ASSERT_EQ(whole_status.code(), StatusCode::kCorruption);
  for (size_t block_bytes : {64, 100, 1000, 1 << 20}) {
    auto blocks = CsvBlockReader::Open(path, block_bytes);
    ASSERT_OK(blocks.status());
    std::string block, joined;
    uint64_t first_line = 0, expected_line = 1;
    std::vector<Fields> records;
    Status st;
    while (true) {
      auto more = (*blocks)->Next(&block, &first_line);
      ASSERT_OK(more.status());
      if (!*more) break;
      EXPECT_EQ(first_line, expected_line);
      EXPECT_EQ(block.back(), '\n');
      expected_line += static_cast<uint64_t>(std::count(block.begin(), block.end(), '\n'));
      joined += block;
      CsvReader r(block, o, 3, first_line);
      Fields f;
      while (r.Next(&f)) records.push_back(f);
      if (!r.status().ok() && st.ok()) st = r.status();
    }
    EXPECT_EQ(joined, data);
    EXPECT_EQ(records, whole) << block_bytes;
    EXPECT_EQ(st.message(), whole_status.message()) << block_bytes;
  }
  EXPECT_EQ(CsvBlockReader::Open(dir.path() + "/none.csv").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(CsvBlockReader::Open(dir.path() + "/no/such/dir.csv").status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/no"));

  // Through a store (a local one, and one that reads as a remote one would): the same blocks.
  auto local = store::OpenStore(dir.path());
  ASSERT_OK(local);
  auto remote = testing::OpenRemoteLikeStore(dir.path());
  ASSERT_OK(remote);
  for (store::ObjectStore* st : {local->get(), remote->get()}) {
    auto blocks = CsvBlockReader::Open(*st, "f.csv", 100);
    ASSERT_OK(blocks);
    std::string block, joined;
    uint64_t first_line = 0;
    while (true) {
      auto more = (*blocks)->Next(&block, &first_line);
      ASSERT_OK(more.status());
      if (!*more) break;
      joined += block;
    }
    EXPECT_EQ(joined, data) << st->uri();
    EXPECT_NE((*blocks)->path().find("f.csv"), std::string::npos);
    EXPECT_EQ(CsvBlockReader::Open(*st, "none.csv").status().code(), StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace binlake::staging
