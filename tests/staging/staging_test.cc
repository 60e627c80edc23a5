// The local staging store: LOAD files, CDC flushes and their names, manifests, and a crash at every
// step of a flush replayed into the same bytes.
#include "staging/staging.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "staging/records.h"
#include "staging/staging_testing.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::staging {
namespace {

namespace fs = std::filesystem;

using binlake::testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every regular file under root, by relative path, with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), root).string()] = ReadFile(e.path());
  }
  return out;
}

std::vector<std::string> CsvFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".csv") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TableSchema MakeSchema(const std::string& table, int ncols) {
  TableSchema s;
  s.schema = "db";
  s.table = table;
  for (int i = 0; i < ncols; ++i) {
    ColumnSchema c;
    c.name = i == 0 ? "id" : "c" + std::to_string(i);
    c.mysql_type = i == 0 ? "int" : "varchar(20)";
    c.binlog_type = i == 0 ? 3 : 15;
    c.binlog_meta = i == 0 ? 0 : 80;
    c.pk_position = i == 0 ? 0 : -1;
    s.columns.push_back(c);
  }
  return s;
}

SourcePosition Pos(uint64_t p) { return SourcePosition{"binlog.000001", p, ""}; }

struct Row {
  std::string table;
  char op;
  std::vector<std::string> values;  // "<null>" is NULL
};
struct Txn {
  uint64_t start, end;
  uint64_t commit_us;
  std::vector<Row> rows;
};

Status RunTxn(Staging* s, const Txn& t, const std::map<std::string, TableSchema>& schemas) {
  for (const Row& r : t.rows) {
    BL_RETURN_IF_ERROR(s->RegisterSchema(schemas.at(r.table), Pos(t.start)).status());
  }
  BL_RETURN_IF_ERROR(s->BeginTransaction(Pos(t.start), t.commit_us));
  for (const Row& r : t.rows) {
    std::vector<Cell> cells;
    for (const std::string& v : r.values) cells.push_back(Cell{v == "<null>", v});
    BL_RETURN_IF_ERROR(s->Append("db", r.table, r.op, cells));
  }
  return s->Commit(Pos(t.end));
}

std::vector<Cell> Cells(const std::vector<std::string>& v) {
  std::vector<Cell> out;
  for (const std::string& s : v) out.push_back(Cell{false, s});
  return out;
}

TEST(StagingCsvOptionsTest, RejectsAmbiguousOptions) {
  TempDir dir;
  CsvOptions o;
  o.null_value = "a,b";
  EXPECT_EQ(Staging::Open(dir.path(), o, FlushPolicy{}).status().code(),
            StatusCode::kInvalidArgument);
  o.null_value = "";
  o.delimiter = '"';
  EXPECT_EQ(Staging::Open(dir.path(), o, FlushPolicy{}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(StagingSchemaTest, VersionsOnlyWhenTheShapeChanges) {
  TempDir dir;
  auto s = Staging::Open(dir.path(), CsvOptions{}, FlushPolicy{});
  ASSERT_OK(s);
  TableSchema t = MakeSchema("t", 2);
  EXPECT_EQ((*s)->RegisterSchema(t, Pos(4)).value(), 1);
  TableSchema same = t;
  same.columns[1].collation = 45;  // not part of the shape
  same.columns[1].nullable = false;
  EXPECT_EQ((*s)->RegisterSchema(same, Pos(8)).value(), 1);
  TableSchema wider = MakeSchema("t", 3);
  EXPECT_EQ((*s)->RegisterSchema(wider, Pos(9)).value(), 2);
  EXPECT_EQ((*s)->LatestSchema("db", "t")->columns.size(), 3u);
  EXPECT_EQ((*s)->LatestSchema("db", "nope"), nullptr);
  auto v1 = ReadSchema(dir.path(), "db", "t", 1);
  ASSERT_OK(v1);
  EXPECT_TRUE(v1->SameShape(t));
  EXPECT_EQ(v1->columns, t.columns);
  EXPECT_TRUE(fs::exists(dir.path() + "/_binlake/schemas/db/t/00002.json"));
  EXPECT_TRUE(t.has_primary_key());
  TableSchema nokey = t;
  for (auto& c : nokey.columns) c.pk_position = -1;
  EXPECT_FALSE(nokey.has_primary_key());
  EXPECT_FALSE(nokey.SameShape(t));
  EXPECT_EQ((*s)->RegisterSchema(MakeSchema("..", 1), Pos(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Pos(1234).ToString(), "binlog.000001:1234");
}

TEST(StagingLoadTest, SplitsAtMaxFileBytesWithHexCounter) {
  TempDir dir;
  CsvOptions o;
  o.max_file_bytes = 20;
  auto s = Staging::Open(dir.path(), o, FlushPolicy{});
  ASSERT_OK(s);
  ASSERT_OK((*s)->RegisterSchema(MakeSchema("t", 2), Pos(4)));
  EXPECT_EQ((*s)->BeginLoad("db", "nope", Pos(100)).status().code(), StatusCode::kInvalidArgument);
  auto w = (*s)->BeginLoad("db", "t", Pos(100));
  ASSERT_OK(w);
  for (int i = 0; i < 30; ++i) {
    ASSERT_OK((*w)->AppendRow(Cells({std::to_string(i), "value" + std::to_string(i)})));
  }
  ASSERT_OK((*w)->Finish());
  EXPECT_EQ((*w)->rows(), 30u);
  const std::string tdir = dir.path() + "/db/t";
  std::vector<std::string> files = CsvFiles(tdir);
  ASSERT_GE(files.size(), 12u);
  EXPECT_EQ(files[0], "LOAD00000001.csv");
  EXPECT_EQ(files[9], "LOAD0000000A.csv");
  EXPECT_EQ(files[10], "LOAD0000000B.csv");
  int next = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string data = ReadFile(tdir + "/" + files[i]);
    auto m = ReadManifest(dir.path(), "db", "t", files[i]);
    ASSERT_OK(m);
    EXPECT_EQ(m->kind, "load");
    EXPECT_EQ(m->sequence, i + 1);
    EXPECT_EQ(m->start, Pos(100));
    EXPECT_EQ(m->schema_version, 1);
    EXPECT_EQ(m->bytes, data.size());
    Sha256 sha;
    sha.Update(data);
    EXPECT_EQ(m->sha256, sha.HexDigest());
    // Cut at a row boundary: only the last row crosses the limit.
    EXPECT_LE(data.size() - data.substr(0, data.size() - 1).rfind('\n') - 1, data.size());
    CsvReader r(data, o, 2);
    std::vector<std::optional<std::string>> f;
    uint64_t rows = 0;
    while (r.Next(&f)) {
      EXPECT_EQ(*f[0], std::to_string(next++));
      ++rows;
    }
    ASSERT_OK(r.status());
    EXPECT_EQ(rows, m->rows);
    if (i + 1 < files.size()) {
      EXPECT_GT(data.size(), 20u);
    }
  }
  EXPECT_EQ(next, 30);

  // A reset removes every LOAD file and manifest; the full load must be redone.
  ASSERT_OK((*s)->FinishFullLoad(Pos(100)));
  EXPECT_TRUE((*s)->checkpoint().full_load_done);
  EXPECT_EQ((*s)->checkpoint().position, Pos(100));
  ASSERT_OK((*s)->ResetFullLoad());
  EXPECT_FALSE((*s)->checkpoint().full_load_done);
  EXPECT_TRUE(CsvFiles(tdir).empty());
  EXPECT_TRUE(fs::is_empty(dir.path() + "/_binlake/files/db/t"));
}

TEST(StagingLoadTest, HeaderOpAndTimestampColumns) {
  TempDir dir;
  CsvOptions o;
  o.header = true;
  o.include_op_for_full_load = true;
  o.timestamp_column = "ts";
  o.null_value = "\\N";
  auto s = Staging::Open(dir.path(), o, FlushPolicy{});
  ASSERT_OK(s);
  ASSERT_OK((*s)->RegisterSchema(MakeSchema("t", 2), Pos(4)));
  auto w = (*s)->BeginLoad("db", "t", Pos(100));
  ASSERT_OK(w);
  std::vector<Cell> row = {Cell{false, "1"}, Cell{true, {}}};
  ASSERT_OK((*w)->AppendRow(row));
  ASSERT_OK((*w)->Finish());
  const std::string data = ReadFile(dir.path() + "/db/t/LOAD00000001.csv");
  ASSERT_EQ(data.substr(0, 12), "Op,ts,id,c1\n");
  const std::string line = data.substr(12);
  ASSERT_EQ(line.size(), 2 + 26 + 5 + 1) << line;
  EXPECT_EQ(line.substr(0, 2), "I,");
  EXPECT_EQ(line[6], '-');
  EXPECT_EQ(line[12], ' ');
  EXPECT_EQ(line[21], '.');
  EXPECT_EQ(line.substr(28), ",1,\\N\n");
}

TEST(StagingTimeTest, Formats) {
  EXPECT_EQ(FormatCommitTime(0), "1970-01-01 00:00:00.000000");
  EXPECT_EQ(FormatCommitTime(1709251199000001ULL), "2024-02-29 23:59:59.000001");
  EXPECT_EQ(FormatNameTime(1795832130123ULL), "20261128-021530123");
  EXPECT_EQ(CdcFileName(1795832130123ULL, 42), "20261128-021530123-0000000042.csv");
}

class StagingCdcTest : public ::testing::Test {
 protected:
  void Open(const CsvOptions& o, const FlushPolicy& f = FlushPolicy{}) {
    auto s = Staging::Open(dir_.path(), o, f);
    ASSERT_OK(s);
    s_ = std::move(*s);
    schemas_["a"] = MakeSchema("a", 2);
    schemas_["b"] = MakeSchema("b", 2);
  }
  TempDir dir_;
  std::unique_ptr<Staging> s_;
  std::map<std::string, TableSchema> schemas_;
};

TEST_F(StagingCdcTest, NamesIncreaseWhenCommitTimesStepBack) {
  CsvOptions o;
  o.timestamp_column = "ts";
  Open(o);
  ASSERT_OK(RunTxn(s_.get(), {10, 20, 5'000'000, {{"b", 'I', {"1", "x"}}, {"a", 'I', {"1", "y"}}}},
                   schemas_));
  ASSERT_OK(RunTxn(s_.get(), {20, 30, 3'000'000, {{"a", 'U', {"1", "z"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(CsvFiles(dir_.path() + "/db/a"),
            std::vector<std::string>{"19700101-000005000-0000000001.csv"});
  EXPECT_EQ(CsvFiles(dir_.path() + "/db/b"),
            std::vector<std::string>{"19700101-000005000-0000000002.csv"});
  EXPECT_EQ(ReadFile(dir_.path() + "/db/a/19700101-000005000-0000000001.csv"),
            "I,1970-01-01 00:00:05.000000,1,y\nU,1970-01-01 00:00:03.000000,1,z\n");
  auto m = ReadManifest(dir_.path(), "db", "a", "19700101-000005000-0000000001.csv");
  ASSERT_OK(m);
  EXPECT_EQ(m->kind, "cdc");
  EXPECT_EQ(m->sequence, 1u);
  EXPECT_EQ(m->rows, 2u);
  EXPECT_EQ(m->inserts, 1u);
  EXPECT_EQ(m->updates, 1u);
  EXPECT_EQ(m->start, Pos(10));
  EXPECT_EQ(m->end, Pos(30));
  EXPECT_EQ(m->first_commit, "1970-01-01 00:00:05.000000");
  EXPECT_EQ(m->last_commit, "1970-01-01 00:00:03.000000");
  EXPECT_EQ(s_->checkpoint().position, Pos(30));
  EXPECT_EQ(s_->checkpoint().next_sequence, 3u);
  EXPECT_EQ(s_->checkpoint().last_name_millis, 5000u);

  // An earlier commit time than the last name keeps the last name's time.
  ASSERT_OK(RunTxn(s_.get(), {30, 40, 1'000'000, {{"a", 'D', {"1", "z"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(CsvFiles(dir_.path() + "/db/a").back(), "19700101-000005000-0000000003.csv");
  ASSERT_OK(RunTxn(s_.get(), {40, 50, 7'000'001, {{"a", 'I', {"2", "w"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(CsvFiles(dir_.path() + "/db/a").back(), "19700101-000007000-0000000004.csv");
  EXPECT_FALSE(fs::exists(dir_.path() + "/_binlake/flush-intent.json"));
}

TEST_F(StagingCdcTest, OneSchemaVersionPerFile) {
  CsvOptions o;
  o.header = true;
  Open(o);
  ASSERT_OK(RunTxn(s_.get(), {10, 20, 1'000'000, {{"a", 'I', {"1", "x"}}}}, schemas_));
  schemas_["a"] = MakeSchema("a", 3);
  ASSERT_OK(RunTxn(s_.get(), {20, 30, 1'000'000, {{"a", 'I', {"2", "y", "z"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  auto files = CsvFiles(dir_.path() + "/db/a");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(ReadFile(dir_.path() + "/db/a/" + files[0]), "Op,id,c1\nI,1,x\n");
  EXPECT_EQ(ReadFile(dir_.path() + "/db/a/" + files[1]), "Op,id,c1,c2\nI,2,y,z\n");
  EXPECT_EQ(ReadManifest(dir_.path(), "db", "a", files[0])->schema_version, 1);
  EXPECT_EQ(ReadManifest(dir_.path(), "db", "a", files[1])->schema_version, 2);
  EXPECT_EQ(ReadManifest(dir_.path(), "db", "a", files[1])->start, Pos(20));
}

TEST_F(StagingCdcTest, CdcModeFilters) {
  CsvOptions o;
  o.cdc_mode = CsvOptions::CdcMode::kInsertsOnly;
  Open(o);
  Txn t{
      10, 20, 1'000'000, {{"a", 'I', {"1", "x"}}, {"a", 'U', {"1", "y"}}, {"a", 'D', {"1", "y"}}}};
  ASSERT_OK(RunTxn(s_.get(), t, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(ReadFile(dir_.path() + "/db/a/" + CsvFiles(dir_.path() + "/db/a")[0]), "I,1,x\n");

  TempDir other;
  o.cdc_mode = CsvOptions::CdcMode::kInsertsAndUpdates;
  auto s = Staging::Open(other.path(), o, FlushPolicy{});
  ASSERT_OK(s);
  ASSERT_OK(RunTxn(s->get(), t, schemas_));
  ASSERT_OK((*s)->Flush(0));
  EXPECT_EQ(ReadFile(other.path() + "/db/a/" + CsvFiles(other.path() + "/db/a")[0]),
            "I,1,x\nU,1,y\n");
}

TEST_F(StagingCdcTest, FlushPolicy) {
  FlushPolicy f;
  f.interval_ms = 1000;
  f.min_bytes = 100;
  CsvOptions o;
  o.max_file_bytes = 60;
  Open(o, f);
  EXPECT_FALSE(s_->ShouldFlush(0));
  ASSERT_OK(s_->BeginTransaction(Pos(10), 1));
  ASSERT_OK(s_->RegisterSchema(schemas_["a"], Pos(10)));
  ASSERT_OK(s_->Append("db", "a", 'I', Cells({"1", "x"})));
  EXPECT_FALSE(s_->ShouldFlush(999999));  // never inside a transaction
  EXPECT_TRUE(s_->in_transaction());
  EXPECT_EQ(s_->Flush(0).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->Commit(Pos(20)));
  EXPECT_EQ(s_->pending_bytes(), 6u);
  EXPECT_FALSE(s_->ShouldFlush(5000));  // the pending set's clock starts here
  EXPECT_FALSE(s_->ShouldFlush(5999));
  EXPECT_TRUE(s_->ShouldFlush(6000));
  ASSERT_OK(s_->Flush(6000));
  EXPECT_EQ(s_->pending_bytes(), 0u);
  EXPECT_FALSE(s_->ShouldFlush(99999));
  // A file over max_file_bytes flushes at once.
  ASSERT_OK(s_->BeginTransaction(Pos(20), 1));
  ASSERT_OK(s_->Append("db", "a", 'I', Cells({"1", std::string(60, 'x')})));
  ASSERT_OK(s_->Commit(Pos(30)));
  EXPECT_TRUE(s_->ShouldFlush(0));
  ASSERT_OK(s_->Flush(0));
  // So do min_bytes over several files.
  ASSERT_OK(s_->RegisterSchema(schemas_["b"], Pos(30)));
  ASSERT_OK(s_->BeginTransaction(Pos(30), 1));
  ASSERT_OK(s_->Append("db", "a", 'I', Cells({"1", std::string(50, 'x')})));
  ASSERT_OK(s_->Append("db", "b", 'I', Cells({"1", std::string(50, 'x')})));
  ASSERT_OK(s_->Commit(Pos(40)));
  EXPECT_TRUE(s_->ShouldFlush(0));
  // A file under the limit takes the next transaction whole; once over it, the next one goes to a
  // new file (cut at a transaction boundary).
  ASSERT_OK(s_->BeginTransaction(Pos(40), 1));
  ASSERT_OK(s_->Append("db", "a", 'I', Cells({"2", std::string(70, 'y')})));
  ASSERT_OK(s_->Append("db", "a", 'I', Cells({"3", "z"})));
  ASSERT_OK(s_->Commit(Pos(50)));
  ASSERT_OK(RunTxn(s_.get(), {50, 60, 1, {{"a", 'I', {"4", "w"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  auto files = CsvFiles(dir_.path() + "/db/a");
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(ReadManifest(dir_.path(), "db", "a", files[2])->rows, 3u);
  EXPECT_EQ(ReadManifest(dir_.path(), "db", "a", files[3])->rows, 1u);
}

TEST_F(StagingCdcTest, AppendErrors) {
  Open(CsvOptions{});
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->BeginTransaction(Pos(10), 1));
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->RegisterSchema(schemas_["a"], Pos(10)));
  EXPECT_EQ(s_->Append("db", "a", 'X', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1"})).code(), StatusCode::kInvalidArgument);
}

TEST_F(StagingCdcTest, AdvanceIdleMovesTheCheckpoint) {
  Open(CsvOptions{});
  ASSERT_OK(s_->AdvanceIdle(Pos(500)));
  auto again = Staging::Open(dir_.path(), CsvOptions{}, FlushPolicy{});
  ASSERT_OK(again);
  EXPECT_EQ((*again)->checkpoint().position, Pos(500));
  // Not while changes are pending: the flush moves it.
  ASSERT_OK(RunTxn(s_.get(), {500, 600, 1, {{"a", 'I', {"1", "x"}}}}, schemas_));
  ASSERT_OK(s_->AdvanceIdle(Pos(700)));
  EXPECT_EQ(s_->checkpoint().position, Pos(500));
}

TEST(StagingOpenTest, RemovesLeftoversAndWritesMode0640) {
  TempDir dir;
  {
    auto s = Staging::Open(dir.path(), CsvOptions{}, FlushPolicy{});
    ASSERT_OK(s);
    ASSERT_OK((*s)->RegisterSchema(MakeSchema("a", 2), Pos(1)));
    ASSERT_OK((*s)->BeginTransaction(Pos(1), 1));
    ASSERT_OK((*s)->Append("db", "a", 'I', Cells({"1", "x"})));
    ASSERT_OK((*s)->Commit(Pos(2)));
    // Destroyed without a flush, like a crash: the building file stays behind.
  }
  std::ofstream(dir.path() + "/_binlake/.checkpoint.json.tmp") << "partial";
  int tmp_files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    if (e.path().extension() == ".tmp") ++tmp_files;
  }
  EXPECT_EQ(tmp_files, 2);
  auto s = Staging::Open(dir.path(), CsvOptions{}, FlushPolicy{});
  ASSERT_OK(s);
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  }
  ASSERT_OK((*s)->RegisterSchema(MakeSchema("a", 2), Pos(1)));
  ASSERT_OK(RunTxn(s->get(), {1, 2, 1, {{"a", 'I', {"1", "x"}}}}, {{"a", MakeSchema("a", 2)}}));
  ASSERT_OK((*s)->Flush(0));
  ::umask(022);
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 4);  // schema, manifest, CSV, checkpoint
}

TEST(StagingOpenTest, CorruptCheckpointNamesThePath) {
  TempDir dir;
  fs::create_directories(dir.path() + "/_binlake");
  std::ofstream(dir.path() + "/_binlake/checkpoint.json") << "{\"position\": 3";
  auto s = Staging::Open(dir.path(), CsvOptions{}, FlushPolicy{});
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("checkpoint.json"), std::string::npos);
}

// The workload of the crash tests: three flushes; the second one has four files (two of them the
// two schema versions of table b) and commit times that step back.
struct Workload {
  std::map<std::string, TableSchema> v1 = {
      {"a", MakeSchema("a", 2)}, {"b", MakeSchema("b", 2)}, {"c", MakeSchema("c", 2)}};
  std::map<std::string, TableSchema> v2 = {
      {"a", MakeSchema("a", 2)}, {"b", MakeSchema("b", 3)}, {"c", MakeSchema("c", 2)}};
  std::vector<Txn> first = {
      {100, 200, 9'000'000'000, {{"a", 'I', {"1", "one"}}, {"b", 'I', {"1", "x,y"}}}},
      {200, 300, 9'000'100'000, {{"a", 'U', {"1", "uno"}}}},
  };
  std::vector<Txn> second = {
      {300, 400, 9'000'050'000, {{"a", 'I', {"2", "two"}}, {"c", 'I', {"1", "\"q\""}}}},
      {400, 500, 8'999'000'000, {{"b", 'D', {"1", "x,y"}}}},
      {500, 600, 9'000'200'000, {}},
      {600, 700, 9'000'300'000, {{"b", 'I', {"2", "new", "<null>"}}, {"a", 'D', {"2", "two"}}}},
      {700, 800, 9'000'400'000, {{"c", 'U', {"1", "line\nbreak"}}}},
  };
  std::vector<Txn> third = {{800, 900, 9'000'500'000, {{"c", 'D', {"1", "line\nbreak"}}}}};
  const std::map<std::string, TableSchema>& SchemasFor(const Txn& t) const {
    return t.start >= 600 ? v2 : v1;
  }
};

CsvOptions CrashOptions() {
  CsvOptions o;
  o.header = true;
  o.timestamp_column = "commit_ts";
  return o;
}

// Replays the transactions from `from` on (the checkpoint), flushing when ShouldFlush says so.
Status Replay(Staging* s, const Workload& w, const std::vector<Txn>& txns, uint64_t from) {
  for (const Txn& t : txns) {
    if (t.start < from) continue;
    BL_RETURN_IF_ERROR(RunTxn(s, t, w.SchemasFor(t)));
  }
  return Status::Ok();
}

TEST(StagingCrashTest, EveryFlushStepReplaysToTheSameBytes) {
  const Workload w;
  TempDir clean;
  {
    auto s = Staging::Open(clean.path(), CrashOptions(), FlushPolicy{});
    ASSERT_OK(s);
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(Replay(s->get(), w, w.second, 0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(Replay(s->get(), w, w.third, 0));
    ASSERT_OK((*s)->Flush(0));
  }
  const auto expected = Snapshot(clean.path());
  ASSERT_EQ(CsvFiles(clean.path() + "/db/b").size(), 3u);

  // 4 files: intent + 2 per file + checkpoint + intent removal = 11 steps.
  for (int crash_after = 0; crash_after <= 11; ++crash_after) {
    SCOPED_TRACE("crash after " + std::to_string(crash_after) + " steps");
    TempDir dir;
    {
      auto s = Staging::Open(dir.path(), CrashOptions(), FlushPolicy{});
      ASSERT_OK(s);
      ASSERT_OK(Replay(s->get(), w, w.first, 0));
      ASSERT_OK((*s)->Flush(0));
    }
    {
      StagingTestHooks hooks;
      hooks.crash_after_flush_steps = crash_after;
      auto s = OpenStagingForTest(dir.path(), CrashOptions(), FlushPolicy{}, hooks);
      ASSERT_OK(s);
      ASSERT_OK(Replay(s->get(), w, w.second, (*s)->checkpoint().position.pos));
      Status st = (*s)->Flush(0);
      EXPECT_EQ(st.ok(), crash_after == 11) << st.ToString();
      if (!st.ok()) {
        EXPECT_EQ((*s)->Flush(0).code(), st.code());  // broken until reopened
      }
    }
    {
      auto s = Staging::Open(dir.path(), CrashOptions(), FlushPolicy{});
      ASSERT_OK(s);
      EXPECT_EQ((*s)->checkpoint().position, Pos(crash_after < 10 ? 300 : 800));
      // Replay from the checkpoint. With the intent written (recovery) the flush falls exactly at
      // the interrupted flush's end, whatever the policy says; before it, nothing was visible.
      const bool recovery = crash_after >= 1 && crash_after < 10;
      for (const Txn& t : w.second) {
        if (t.start < (*s)->checkpoint().position.pos) continue;
        ASSERT_OK(RunTxn(s->get(), t, w.SchemasFor(t)));
        if (recovery) {
          EXPECT_EQ((*s)->ShouldFlush(0), t.end == 800) << t.end;
          if (t.end == 600) {
            EXPECT_EQ((*s)->Flush(0).code(), StatusCode::kInvalidArgument);
          }
        }
      }
      ASSERT_OK((*s)->Flush(0));
      ASSERT_OK(Replay(s->get(), w, w.third, 0));
      ASSERT_OK((*s)->Flush(0));
    }
    EXPECT_EQ(Snapshot(dir.path()), expected);
  }
}

TEST(StagingCrashTest, ReplayThatOvershootsIsCorruption) {
  const Workload w;
  TempDir dir;
  {
    StagingTestHooks hooks;
    hooks.crash_after_flush_steps = 3;
    auto s = OpenStagingForTest(dir.path(), CrashOptions(), FlushPolicy{}, hooks);
    ASSERT_OK(s);
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    EXPECT_FALSE((*s)->Flush(0).ok());
  }
  auto s = Staging::Open(dir.path(), CrashOptions(), FlushPolicy{});
  ASSERT_OK(s);
  ASSERT_OK(RunTxn(s->get(), w.first[0], w.v1));
  ASSERT_OK((*s)->BeginTransaction(Pos(200), 1));
  EXPECT_EQ((*s)->Commit(Pos(350)).code(), StatusCode::kCorruption);
}

// Rows go to disk as they come: a big transaction does not grow memory.
TEST(StagingMemoryTest, BigTransactionHasBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's quarantine keeps freed memory resident; RSS says nothing here";
#endif
  auto rss_kb = [] {
    std::ifstream in("/proc/self/statm");
    long pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
  };
  TempDir dir;
  auto s = Staging::Open(dir.path(), CsvOptions{}, FlushPolicy{});
  ASSERT_OK(s);
  ASSERT_OK((*s)->RegisterSchema(MakeSchema("a", 2), Pos(1)));
  ASSERT_OK((*s)->BeginTransaction(Pos(1), 1));
  const std::string payload(100, 'p');
  ASSERT_OK((*s)->Append("db", "a", 'I', Cells({"0", payload})));
  const long before = rss_kb();
  for (int i = 1; i < 200000; ++i) {
    ASSERT_OK((*s)->Append("db", "a", 'I', Cells({std::to_string(i), payload})));
  }
  const long after = rss_kb();
  ASSERT_OK((*s)->Commit(Pos(2)));
  EXPECT_GT((*s)->pending_bytes(), 20u << 20);
  EXPECT_LT(after - before, 8 * 1024) << "RSS grew by " << (after - before) << " KiB";
  ASSERT_OK((*s)->Flush(0));
}

}  // namespace
}  // namespace binlake::staging
