// Tables that other engines (Spark, delta-rs) also write: their files outside the bucket folders,
// with other Arrow types and percent-encoded paths in the log, merged exactly by the apply.
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "staging/staging.h"
#include "testing/staging_fixtures.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::lake {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using binlake::testing::Col;
using binlake::testing::Pos;
using binlake::testing::TempDir;

staging::TableSchema Schema(bool pk) {
  staging::TableSchema s;
  s.schema = "db";
  s.table = "t";
  s.columns = {Col("id", "int", pk ? 0 : -1), Col("name", "varchar(20)"), Col("ts", "timestamp(6)"),
               Col("amount", "decimal(10,2)"), Col("tiny", "tinyint")};
  return s;
}

constexpr int64_t kMicros = 1709251199000001;  // 2024-02-29 23:59:59.000001 UTC

std::vector<std::string> Texts(int id, const std::string& name) {
  return {std::to_string(id), name, "2024-02-29 23:59:59.000001", std::to_string(id) + ".25",
          std::to_string(id % 100)};
}

// Cells viewing `texts` (which must outlive them).
std::vector<staging::Cell> Cells(const std::vector<std::string>& texts) {
  std::vector<staging::Cell> c;
  for (const auto& t : texts) c.push_back(staging::Cell{false, t});
  return c;
}

// A row as the tests compare it: id, name.
using Rows = std::multimap<int32_t, std::string>;

class ForeignFilesTest : public ::testing::Test {
 protected:
  void Stage(bool pk, int rows) {
    auto s = staging::Staging::Open(stage_.path(), csv_, staging::FlushPolicy{});
    ASSERT_OK(s.status());
    st_ = std::move(*s);
    ASSERT_OK(st_->RegisterSchema(Schema(pk), Pos(4)).status());
    auto w = st_->BeginLoad("db", "t", Pos(4));
    ASSERT_OK(w.status());
    for (int i = 1; i <= rows; i++) {
      const auto texts = Texts(i, "n");
      ASSERT_OK((*w)->AppendRow(Cells(texts)));
    }
    ASSERT_OK((*w)->Finish());
    ASSERT_OK(st_->FinishFullLoad(Pos(4)));
    ASSERT_OK(ApplyFiles(Options(), Files()).status());
  }
  struct Op {
    char op;
    int id;
    std::string name;
  };
  // One change file; returns its path.
  std::string Changes(const std::vector<Op>& ops, uint64_t pos) {
    EXPECT_OK(st_->BeginTransaction(Pos(pos), 1700000000000000ULL + pos));
    for (const auto& o : ops) {
      const auto texts = Texts(o.id, o.name);
      EXPECT_OK(st_->Append("db", "t", o.op, Cells(texts)));
    }
    EXPECT_OK(st_->Commit(Pos(pos + 1)));
    EXPECT_OK(st_->Flush(pos));
    auto files = Files();  // change names sort before LOAD names, in staging order
    return files.size() >= 2 ? files[files.size() - 2] : std::string();
  }
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(stage_.path() + "/db/t")) {
      if (e.path().extension() == ".csv") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  ApplyOptions Options() {
    ApplyOptions o;
    o.lake = lake_.path();
    o.csv = csv_;
    o.buckets = 4;
    o.threads = 2;
    o.warn = [this](const std::string& m) { warnings_.push_back(m); };
    return o;
  }
  std::string Table() const { return lake_.path() + "/db/t"; }

  // A file as another engine writes it: columns in another order, other Arrow types for the same
  // Delta types (int64 id, large_utf8, timestamp "Etc/UTC", decimal(12,2), int32 tiny), non-null
  // fields with metadata; at the table root with a name the log percent-encodes.
  void AddForeignFile(const std::string& name,
                      const std::vector<std::pair<int, std::string>>& rows) {
    arrow::Int64Builder id;
    arrow::LargeStringBuilder nm;
    arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO, "Etc/UTC"),
                               arrow::default_memory_pool());
    arrow::Decimal128Builder amount(arrow::decimal128(12, 2));
    arrow::Int32Builder tiny;
    for (const auto& [i, n] : rows) {
      ASSERT_TRUE(id.Append(i).ok());
      ASSERT_TRUE(nm.Append(n).ok());
      ASSERT_TRUE(ts.Append(kMicros).ok());
      ASSERT_TRUE(amount.Append(arrow::Decimal128(int64_t{i} * 100 + 25)).ok());
      ASSERT_TRUE(tiny.Append(i % 100).ok());
    }
    auto meta = arrow::key_value_metadata({"comment"}, {"spark"});
    auto schema =
        arrow::schema({arrow::field("tiny", arrow::int32(), false, meta),
                       arrow::field("name", arrow::large_utf8(), false),
                       arrow::field("amount", arrow::decimal128(12, 2)),
                       arrow::field("ts", ts.type()), arrow::field("id", arrow::int64())});
    auto table = arrow::Table::Make(
        schema, {tiny.Finish().ValueOrDie(), nm.Finish().ValueOrDie(), amount.Finish().ValueOrDie(),
                 ts.Finish().ValueOrDie(), id.Finish().ValueOrDie()});
    const std::string file = Table() + "/" + name;
    auto out = arrow::io::FileOutputStream::Open(file).ValueOrDie();
    auto props = parquet::ArrowWriterProperties::Builder().store_schema()->build();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1024,
                                           parquet::default_writer_properties(), props)
                    .ok());
    ASSERT_TRUE(out->Close().ok());
    // The log names it URI-encoded.
    std::string encoded;
    for (char c : name) {
      if (c == ' ') {
        encoded += "%20";
      } else if (c == '=') {
        encoded += "%3D";
      } else {
        encoded += c;
      }
    }
    auto snap = ReadDeltaLog(Table());
    ASSERT_OK(snap.status());
    json add = {{"add",
                 {{"path", encoded},
                  {"partitionValues", json::object()},
                  {"size", static_cast<int64_t>(fs::file_size(file))},
                  {"modificationTime", 1700000000000},
                  {"dataChange", true}}}};
    json info = {{"commitInfo", {{"operation", "WRITE"}, {"engineInfo", "Apache-Spark/3.5.1"}}}};
    auto won = TryCommitDelta(Table(), snap->version + 1, {add.dump(), info.dump()});
    ASSERT_OK(won.status());
    ASSERT_TRUE(*won);
  }

  Rows Read() {
    Rows out;
    auto t = ReadLakeTable(Table());
    EXPECT_OK(t.status());
    if (!t.ok()) return out;
    auto c = (*t)->CombineChunks().ValueOrDie();
    if (c->num_rows() == 0) return out;
    auto ids = std::static_pointer_cast<arrow::Int32Array>(c->column(0)->chunk(0));
    auto names = std::static_pointer_cast<arrow::StringArray>(c->column(1)->chunk(0));
    auto ts = std::static_pointer_cast<arrow::TimestampArray>(c->column(2)->chunk(0));
    auto amount = std::static_pointer_cast<arrow::Decimal128Array>(c->column(3)->chunk(0));
    auto tiny = std::static_pointer_cast<arrow::Int8Array>(c->column(4)->chunk(0));
    for (int64_t i = 0; i < c->num_rows(); i++) {
      EXPECT_EQ(ts->Value(i), kMicros);
      EXPECT_EQ(amount->FormatValue(i), std::to_string(ids->Value(i)) + ".25");
      EXPECT_EQ(tiny->Value(i), ids->Value(i) % 100);
      out.emplace(ids->Value(i), names->GetString(i));
    }
    return out;
  }

  // Active data files outside the bucket folders, as the log names them.
  std::vector<std::string> RootFiles() {
    std::vector<std::string> out;
    auto snap = ReadDeltaLog(Table());
    EXPECT_OK(snap.status());
    if (!snap.ok()) return out;
    for (const auto& [path, size] : snap->files) {
      if (path.rfind("bucket=", 0) != 0) out.push_back(path);
    }
    return out;
  }

  TempDir stage_, lake_;
  staging::CsvOptions csv_;
  std::unique_ptr<staging::Staging> st_;
  std::vector<std::string> warnings_;
};

TEST_F(ForeignFilesTest, PrimaryKeyRowsInForeignFilesMergeExactly) {
  Stage(true, 20);
  AddForeignFile("part-00000-a b=c.snappy.parquet",
                 {{21, "s21"}, {22, "s22"}, {23, "s23"}, {24, "s24"}, {25, "s25"}, {26, "s26"}});
  AddForeignFile("part-00001-untouched.snappy.parquet", {{30, "s30"}, {31, "s31"}});
  Rows expected;
  for (int i = 1; i <= 20; i++) expected.emplace(i, "n");
  for (int i : {21, 22, 23, 24, 25, 26}) expected.emplace(i, "s" + std::to_string(i));
  expected.emplace(30, "s30");
  expected.emplace(31, "s31");
  EXPECT_EQ(Read(), expected);

  const int64_t before = ReadDeltaLog(Table()).value().version;
  const std::string file = Changes({{'U', 21, "u21"},
                                    {'D', 22, "n"},
                                    {'D', 23, "n"},  // a key move: 23 -> 123
                                    {'I', 123, "m23"},
                                    {'I', 24, "i24"},  // the key exists only in a foreign file
                                    {'U', 5, "u5"}},
                                   100);
  auto s = ApplyFiles(Options(), {file});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 1);
  expected.erase(5);
  expected.emplace(5, "u5");
  expected.erase(21);
  expected.emplace(21, "u21");
  expected.erase(22);
  expected.erase(23);
  expected.emplace(123, "m23");
  expected.erase(24);
  expected.emplace(24, "i24");
  EXPECT_EQ(Read(), expected);
  ASSERT_EQ(warnings_.size(), 1u);  // the insert of 24, an existing key
  EXPECT_NE(warnings_[0].find("insert of an existing key"), std::string::npos) << warnings_[0];

  // One commit: the hit file removed by its log path, its other rows in one new root file; the
  // untouched file stays.
  auto snap = ReadDeltaLog(Table()).value();
  EXPECT_EQ(snap.version, before + 1);
  auto roots = RootFiles();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_EQ(roots[0], "part-00001-untouched.snappy.parquet");
  EXPECT_EQ(roots[1].rfind("part-binlake-", 0), 0u) << roots[1];
  std::ifstream log(Table() + "/_delta_log/" + [&] {
    char n[32];
    std::snprintf(n, sizeof(n), "%020lld.json", static_cast<long long>(snap.version));
    return std::string(n);
  }());
  std::string line;
  int removes = 0, txns = 0;
  while (std::getline(log, line)) {
    auto j = json::parse(line);
    if (j.contains("remove") && j["remove"]["path"] == "part-00000-a%20b%3Dc.snappy.parquet") {
      removes++;
    }
    if (j.contains("add") && j["add"]["path"] == roots[1]) {
      auto stats = json::parse(j["add"]["stats"].get<std::string>());
      EXPECT_EQ(stats["numRecords"], 2);  // 25 and 26
      EXPECT_EQ(stats["minValues"]["id"], 25);
    }
    txns += j.contains("txn");
  }
  EXPECT_EQ(removes, 1);
  EXPECT_EQ(txns, 1);

  // Applied again: skipped by the txn.
  s = ApplyFiles(Options(), Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 0);
  EXPECT_EQ(ReadDeltaLog(Table()).value().version, snap.version);

  // A change of no foreign key leaves the foreign files alone.
  s = ApplyFiles(Options(), {Changes({{'U', 6, "u6"}}, 200)});
  ASSERT_OK(s.status());
  EXPECT_EQ(RootFiles(), roots);
  expected.erase(6);
  expected.emplace(6, "u6");
  // Keys of the new root file and of the untouched one, then an update of the last.
  s = ApplyFiles(Options(), {Changes({{'D', 25, "n"}, {'U', 31, "u31"}, {'U', 26, "u26"}}, 300)});
  ASSERT_OK(s.status());
  expected.erase(25);
  expected.erase(26);
  expected.emplace(26, "u26");
  expected.erase(31);
  expected.emplace(31, "u31");
  EXPECT_EQ(Read(), expected);
  roots = RootFiles();
  ASSERT_EQ(roots.size(), 1u);  // 25, 26: all hits, no new file; 30 stays in a new one
  EXPECT_EQ(roots[0].rfind("part-binlake-", 0), 0u);
}

TEST_F(ForeignFilesTest, WholeRowIdentityAcrossBucketAndForeignFiles) {
  Stage(false, 10);
  AddForeignFile("part-00000-keyless.parquet", {{11, "n"}, {11, "n"}, {3, "n"}, {12, "x"}});
  Rows expected;
  for (int i = 1; i <= 10; i++) expected.emplace(i, "n");
  expected.emplace(11, "n");
  expected.emplace(11, "n");
  expected.emplace(3, "n");
  expected.emplace(12, "x");
  EXPECT_EQ(Read(), expected);
  // D removes one identical row: one of the two 11s (both foreign), one of the two 3s (a bucket
  // file and a foreign file); a D of a row nobody has is a warning.
  auto s = ApplyFiles(Options(), {Changes({{'D', 11, "n"}, {'D', 3, "n"}, {'D', 13, "n"}}, 100)});
  ASSERT_OK(s.status());
  expected.erase(expected.find(11));
  expected.erase(expected.find(3));
  EXPECT_EQ(Read(), expected);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("delete of a missing row"), std::string::npos) << warnings_[0];
  auto roots = RootFiles();
  ASSERT_EQ(roots.size(), 1u);  // 12 stays in binlake's root file
  EXPECT_EQ(roots[0].rfind("part-binlake-", 0), 0u);
  s = ApplyFiles(Options(), {Changes({{'D', 3, "n"}, {'D', 11, "n"}, {'D', 12, "x"}}, 200)});
  ASSERT_OK(s.status());
  expected.erase(3);
  expected.erase(11);
  expected.erase(12);
  EXPECT_EQ(Read(), expected);
  EXPECT_TRUE(RootFiles().empty());
}

TEST_F(ForeignFilesTest, MissingOrUncastableColumnNamesTheFileAndColumn) {
  Stage(true, 4);
  const std::string file = Table() + "/part-bad.parquet";
  {
    arrow::Int64Builder id;
    ASSERT_TRUE(id.Append(1).ok());
    auto table = arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64())}),
                                    {id.Finish().ValueOrDie()});
    auto out = arrow::io::FileOutputStream::Open(file).ValueOrDie();
    ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1024).ok());
    ASSERT_TRUE(out->Close().ok());
  }
  json add = {{"add",
               {{"path", "part-bad.parquet"},
                {"partitionValues", json::object()},
                {"size", static_cast<int64_t>(fs::file_size(file))},
                {"modificationTime", 1},
                {"dataChange", true}}}};
  ASSERT_OK(TryCommitDelta(Table(), 1, {add.dump()}).status());
  auto s = ApplyFiles(Options(), {Changes({{'U', 1, "x"}}, 100)});
  ASSERT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("part-bad.parquet has no column name"), std::string::npos)
      << s.status().message();
}

TEST(DataFileKeyTest, PercentDecodesRelativePaths) {
  EXPECT_EQ(DataFileKey("part-0%20a%3Db.parquet").value(), "part-0 a=b.parquet");
  EXPECT_EQ(DataFileKey("bucket=0001/part-x.parquet").value(), "bucket=0001/part-x.parquet");
  EXPECT_EQ(DataFileKey("a%2").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DataFileKey("s3://b/t/part.parquet").status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(BucketOfDataFile("bucket=0003/p.parquet", 4), 3);
  EXPECT_EQ(BucketOfDataFile("bucket=0004/p.parquet", 4), -1);
  EXPECT_EQ(BucketOfDataFile("part-0.parquet", 4), -1);
}

}  // namespace
}  // namespace binlake::lake

namespace binlake::lake {
namespace {

TEST(AlignBatchTest, CastsOtherWritersTypesByNameAndNamesWhatFails) {
  auto table = arrow::schema({arrow::field("id", arrow::int8()), arrow::field("s", arrow::utf8()),
                              arrow::field("b", arrow::binary()),
                              arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"))});
  arrow::StringViewBuilder s;
  arrow::LargeBinaryBuilder b;
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::NANO),  // Spark's INT96
                             arrow::default_memory_pool());
  arrow::Int32Builder id;
  ASSERT_TRUE(s.Append("x").ok());
  ASSERT_TRUE(b.Append("\x01", 1).ok());
  ASSERT_TRUE(ts.Append(kMicros * 1000).ok());
  ASSERT_TRUE(id.Append(7).ok());
  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("ts", ts.type()), arrow::field("s", arrow::utf8_view()),
                     arrow::field("b", arrow::large_binary()), arrow::field("id", arrow::int32())}),
      1,
      {ts.Finish().ValueOrDie(), s.Finish().ValueOrDie(), b.Finish().ValueOrDie(),
       id.Finish().ValueOrDie()});
  auto aligned = AlignBatch(batch, table, "f.parquet");
  ASSERT_OK(aligned.status());
  EXPECT_TRUE((*aligned)->schema()->Equals(*table));
  EXPECT_EQ(std::static_pointer_cast<arrow::Int8Array>((*aligned)->column(0))->Value(0), 7);
  EXPECT_EQ(std::static_pointer_cast<arrow::StringArray>((*aligned)->column(1))->GetString(0), "x");
  EXPECT_EQ(std::static_pointer_cast<arrow::TimestampArray>((*aligned)->column(3))->Value(0),
            kMicros);

  arrow::Int32Builder big;
  ASSERT_TRUE(big.Append(300).ok());  // not a byte
  auto bad = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("ts", ts.type()), arrow::field("s", arrow::utf8_view()),
                     arrow::field("b", arrow::large_binary()), arrow::field("id", arrow::int32())}),
      1, {batch->column(0), batch->column(1), batch->column(2), big.Finish().ValueOrDie()});
  auto st = AlignBatch(bad, table, "f.parquet").status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("f.parquet column id: int32 cannot be read as int8"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace binlake::lake
