// The staging store on every store backend: LOAD files, CDC flushes and their names, manifests, a
// crash at every step of a flush replayed into the same bytes, and a resume with the spool wiped.
#include "staging/staging.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "staging/records.h"
#include "staging/staging_testing.h"
#include "testing/remote_like_store.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::staging {
namespace {

namespace fs = std::filesystem;

using binlake::testing::TempDir;

// A store backend the staging runs on. S3 joins here once the backend exists: a URI under a test
// bucket, its StoreOptions, and no local folder.
struct Backend {
  std::string name;
  // The URI Staging::Open takes for a store under `folder`; "" : open `store` instead.
  std::function<std::string(const std::string& folder)> uri;
  // A handle on the store under `folder` (a fresh handle, same objects, each call).
  std::function<Result<std::unique_ptr<store::ObjectStore>>(const std::string& folder)> store;
  bool local = true;  // the spool is the store's folder
};

// Test names and ctest show the backend's name, not its bytes.
void PrintTo(const Backend& b, std::ostream* os) { *os << b.name; }

std::vector<Backend> Backends() {
  return {
      {"path", [](const std::string& d) { return d; },
       [](const std::string& d) { return store::OpenStore(d); }, true},
      {"file_uri", [](const std::string& d) { return "file://" + d; },
       [](const std::string& d) { return store::OpenStore("file://" + d); }, true},
      // The remote code path (spool apart, PutFile copies) on a folder.
      {"remote_like", [](const std::string&) { return std::string(); },
       [](const std::string& d) { return binlake::testing::OpenRemoteLikeStore(d); }, false},
  };
}

// One staging store of a backend: where it is, how to open it, and its objects read back.
class Env {
 public:
  explicit Env(Backend b) : b_(std::move(b)) {}
  std::string folder() const { return dir_.path() + "/store"; }
  std::string spool() const { return b_.local ? folder() : dir_.path() + "/spool"; }
  const Backend& backend() const { return b_; }

  Result<std::unique_ptr<Staging>> Open(const CsvOptions& csv,
                                        const FlushPolicy& flush = FlushPolicy{}) const {
    const std::string uri = b_.uri(folder());
    if (!uri.empty()) return Staging::Open(uri, store::StoreOptions{}, csv, flush, spool_arg());
    BL_ASSIGN_OR_RETURN(auto st, b_.store(folder()));
    return Staging::Open(std::move(st), csv, flush, spool_arg());
  }
  Result<std::unique_ptr<Staging>> OpenWithHooks(const CsvOptions& csv,
                                                 const StagingTestHooks& hooks) const {
    BL_ASSIGN_OR_RETURN(auto st, b_.store(folder()));
    return OpenStagingForTest(std::move(st), spool_arg(), csv, FlushPolicy{}, hooks);
  }
  store::ObjectStore& store() {
    if (store_ == nullptr) store_ = std::move(b_.store(folder())).value();
    return *store_;
  }
  std::string Read(const std::string& key) {
    auto r = store().Get(key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "";
  }
  bool Exists(const std::string& key) { return store().Stat(key).ok(); }
  // The CSV names of a table, in order.
  std::vector<std::string> Csvs(const std::string& table) {
    store::ListOptions o;
    o.prefix = "db/" + table + "/";
    std::vector<std::string> out;
    const auto objects = store().List(o).value();
    for (const auto& i : objects) {
      if (i.key.ends_with(".csv")) out.push_back(i.key.substr(o.prefix.size()));
    }
    return out;
  }
  std::vector<std::string> Keys(const std::string& prefix) {
    store::ListOptions o;
    o.prefix = prefix;
    std::vector<std::string> out;
    const auto objects = store().List(o).value();
    for (const auto& i : objects) out.push_back(i.key);
    return out;
  }
  // Every object with its bytes.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> out;
    for (const std::string& k : Keys("")) out[k] = Read(k);
    return out;
  }
  // The spool's files (the `.tmp` files of a local store's folder).
  int SpoolFiles() const {
    int n = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(spool(), ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file() && (!b_.local || it->path().extension() == ".tmp")) ++n;
    }
    return n;
  }
  void WipeSpool() const {
    if (!b_.local) fs::remove_all(spool());
  }

 private:
  std::string spool_arg() const { return b_.local ? "" : spool(); }
  Backend b_;
  TempDir dir_;
  std::unique_ptr<store::ObjectStore> store_;
};

class StagingStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  Env env_{GetParam()};
};

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

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

TEST_P(StagingStoreTest, RejectsAmbiguousCsvOptions) {
  CsvOptions o;
  o.null_value = "a,b";
  EXPECT_EQ(env_.Open(o).status().code(), StatusCode::kInvalidArgument);
  o.null_value = "";
  o.delimiter = '"';
  EXPECT_EQ(env_.Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StagingStoreTest, SchemaVersionsOnlyWhenTheShapeChanges) {
  auto s = env_.Open(CsvOptions{});
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
  auto v1 = ReadSchema(env_.store(), "db", "t", 1);
  ASSERT_OK(v1);
  EXPECT_TRUE(v1->SameShape(t));
  EXPECT_EQ(v1->columns, t.columns);
  EXPECT_TRUE(env_.Exists("_binlake/schemas/db/t/00002.json"));
  if (env_.backend().local) {
    auto by_path = ReadSchema(env_.folder(), "db", "t", 1);  // the path-based reader
    ASSERT_OK(by_path);
    EXPECT_EQ(by_path->columns, t.columns);
  }
  EXPECT_TRUE(t.has_primary_key());
  TableSchema nokey = t;
  for (auto& c : nokey.columns) c.pk_position = -1;
  EXPECT_FALSE(nokey.has_primary_key());
  EXPECT_FALSE(nokey.SameShape(t));
  EXPECT_EQ((*s)->RegisterSchema(MakeSchema("..", 1), Pos(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Pos(1234).ToString(), "binlog.000001:1234");
}

TEST_P(StagingStoreTest, LoadSplitsAtMaxFileBytesWithHexCounter) {
  CsvOptions o;
  o.max_file_bytes = 20;
  auto s = env_.Open(o);
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
  std::vector<std::string> files = env_.Csvs("t");
  ASSERT_GE(files.size(), 12u);
  EXPECT_EQ(files[0], "LOAD00000001.csv");
  EXPECT_EQ(files[9], "LOAD0000000A.csv");
  EXPECT_EQ(files[10], "LOAD0000000B.csv");
  int next = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string data = env_.Read("db/t/" + files[i]);
    auto m = ReadManifest(env_.store(), "db", "t", files[i]);
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
  EXPECT_TRUE(env_.Csvs("t").empty());
  EXPECT_TRUE(env_.Keys("_binlake/files/db/t/").empty());
  EXPECT_EQ(env_.SpoolFiles(), 0);
}

TEST_P(StagingStoreTest, LoadHeaderOpAndTimestampColumns) {
  CsvOptions o;
  o.header = true;
  o.include_op_for_full_load = true;
  o.timestamp_column = "ts";
  o.null_value = "\\N";
  auto s = env_.Open(o);
  ASSERT_OK(s);
  ASSERT_OK((*s)->RegisterSchema(MakeSchema("t", 2), Pos(4)));
  auto w = (*s)->BeginLoad("db", "t", Pos(100));
  ASSERT_OK(w);
  std::vector<Cell> row = {Cell{false, "1"}, Cell{true, {}}};
  ASSERT_OK((*w)->AppendRow(row));
  ASSERT_OK((*w)->Finish());
  const std::string data = env_.Read("db/t/LOAD00000001.csv");
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

class StagingCdcTest : public StagingStoreTest {
 protected:
  void Open(const CsvOptions& o, const FlushPolicy& f = FlushPolicy{}) {
    auto s = env_.Open(o, f);
    ASSERT_OK(s);
    s_ = std::move(*s);
    schemas_["a"] = MakeSchema("a", 2);
    schemas_["b"] = MakeSchema("b", 2);
  }
  std::unique_ptr<Staging> s_;
  std::map<std::string, TableSchema> schemas_;
};

TEST_P(StagingCdcTest, NamesIncreaseWhenCommitTimesStepBack) {
  CsvOptions o;
  o.timestamp_column = "ts";
  Open(o);
  ASSERT_OK(RunTxn(s_.get(), {10, 20, 5'000'000, {{"b", 'I', {"1", "x"}}, {"a", 'I', {"1", "y"}}}},
                   schemas_));
  ASSERT_OK(RunTxn(s_.get(), {20, 30, 3'000'000, {{"a", 'U', {"1", "z"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(env_.Csvs("a"), std::vector<std::string>{"19700101-000005000-0000000001.csv"});
  EXPECT_EQ(env_.Csvs("b"), std::vector<std::string>{"19700101-000005000-0000000002.csv"});
  EXPECT_EQ(env_.Read("db/a/19700101-000005000-0000000001.csv"),
            "I,1970-01-01 00:00:05.000000,1,y\nU,1970-01-01 00:00:03.000000,1,z\n");
  auto m = ReadManifest(env_.store(), "db", "a", "19700101-000005000-0000000001.csv");
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
  EXPECT_EQ(env_.Csvs("a").back(), "19700101-000005000-0000000003.csv");
  ASSERT_OK(RunTxn(s_.get(), {40, 50, 7'000'001, {{"a", 'I', {"2", "w"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(env_.Csvs("a").back(), "19700101-000007000-0000000004.csv");
  EXPECT_FALSE(env_.Exists("_binlake/flush-intent.json"));
  EXPECT_EQ(env_.SpoolFiles(), 0);
}

TEST_P(StagingCdcTest, OneSchemaVersionPerFile) {
  CsvOptions o;
  o.header = true;
  Open(o);
  ASSERT_OK(RunTxn(s_.get(), {10, 20, 1'000'000, {{"a", 'I', {"1", "x"}}}}, schemas_));
  schemas_["a"] = MakeSchema("a", 3);
  ASSERT_OK(RunTxn(s_.get(), {20, 30, 1'000'000, {{"a", 'I', {"2", "y", "z"}}}}, schemas_));
  ASSERT_OK(s_->Flush(0));
  auto files = env_.Csvs("a");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(env_.Read("db/a/" + files[0]), "Op,id,c1\nI,1,x\n");
  EXPECT_EQ(env_.Read("db/a/" + files[1]), "Op,id,c1,c2\nI,2,y,z\n");
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[0])->schema_version, 1);
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[1])->schema_version, 2);
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[1])->start, Pos(20));
}

// TRUNCATE / DROP TABLE: the rows before stay in their file; a new file marked `truncate` starts
// with the rows after, and is published even when no row follows.
TEST_P(StagingCdcTest, TruncateCutsAMarkedFile) {
  Open(CsvOptions{});
  ASSERT_OK(RunTxn(s_.get(), {10, 20, 1'000'000, {{"a", 'I', {"1", "x"}}}}, schemas_));
  ASSERT_OK(s_->BeginTransaction(Pos(20), 1'000'000));
  ASSERT_OK(s_->Truncate("db", "a"));
  ASSERT_OK(s_->Commit(Pos(30)));
  ASSERT_OK(RunTxn(s_.get(), {30, 40, 1'000'000, {{"a", 'I', {"2", "y"}}}}, schemas_));
  EXPECT_GT(s_->pending_bytes(), 0u);
  ASSERT_OK(s_->Flush(0));
  auto files = env_.Csvs("a");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(env_.Read("db/a/" + files[0]), "I,1,x\n");
  EXPECT_EQ(env_.Read("db/a/" + files[1]), "I,2,y\n");
  EXPECT_FALSE(ReadManifest(env_.store(), "db", "a", files[0])->truncate);
  EXPECT_TRUE(ReadManifest(env_.store(), "db", "a", files[1])->truncate);
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[1])->start, Pos(20));

  ASSERT_OK(s_->BeginTransaction(Pos(40), 2'000'000));
  ASSERT_OK(s_->Truncate("db", "a"));
  ASSERT_OK(s_->Commit(Pos(50)));
  EXPECT_GT(s_->pending_bytes(), 0u);  // flushed like a row
  ASSERT_OK(s_->Flush(0));
  files = env_.Csvs("a");
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(env_.Read("db/a/" + files[2]), "");
  auto m = ReadManifest(env_.store(), "db", "a", files[2]);
  EXPECT_TRUE(m->truncate);
  EXPECT_EQ(m->rows, 0u);
  EXPECT_EQ(s_->Truncate("db", "nope").code(), StatusCode::kInvalidArgument);
}

TEST_P(StagingCdcTest, CdcModeFilters) {
  CsvOptions o;
  o.cdc_mode = CsvOptions::CdcMode::kInsertsOnly;
  Open(o);
  Txn t{
      10, 20, 1'000'000, {{"a", 'I', {"1", "x"}}, {"a", 'U', {"1", "y"}}, {"a", 'D', {"1", "y"}}}};
  ASSERT_OK(RunTxn(s_.get(), t, schemas_));
  ASSERT_OK(s_->Flush(0));
  EXPECT_EQ(env_.Read("db/a/" + env_.Csvs("a")[0]), "I,1,x\n");

  Env other(GetParam());
  o.cdc_mode = CsvOptions::CdcMode::kInsertsAndUpdates;
  auto s = other.Open(o);
  ASSERT_OK(s);
  ASSERT_OK(RunTxn(s->get(), t, schemas_));
  ASSERT_OK((*s)->Flush(0));
  EXPECT_EQ(other.Read("db/a/" + other.Csvs("a")[0]), "I,1,x\nU,1,y\n");
}

TEST_P(StagingCdcTest, FlushPolicy) {
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
  auto files = env_.Csvs("a");
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[2])->rows, 3u);
  EXPECT_EQ(ReadManifest(env_.store(), "db", "a", files[3])->rows, 1u);
  if (env_.backend().local) {
    EXPECT_EQ(ReadManifest(env_.folder(), "db", "a", files[3])->rows, 1u);  // path-based
  }
}

TEST_P(StagingCdcTest, AppendErrors) {
  Open(CsvOptions{});
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->BeginTransaction(Pos(10), 1));
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  ASSERT_OK(s_->RegisterSchema(schemas_["a"], Pos(10)));
  EXPECT_EQ(s_->Append("db", "a", 'X', Cells({"1", "x"})).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_->Append("db", "a", 'I', Cells({"1"})).code(), StatusCode::kInvalidArgument);
}

TEST_P(StagingCdcTest, AdvanceIdleMovesTheCheckpoint) {
  Open(CsvOptions{});
  ASSERT_OK(s_->AdvanceIdle(Pos(500)));
  auto again = env_.Open(CsvOptions{});
  ASSERT_OK(again);
  EXPECT_EQ((*again)->checkpoint().position, Pos(500));
  // Not while changes are pending: the flush moves it.
  ASSERT_OK(RunTxn(s_.get(), {500, 600, 1, {{"a", 'I', {"1", "x"}}}}, schemas_));
  ASSERT_OK(s_->AdvanceIdle(Pos(700)));
  EXPECT_EQ(s_->checkpoint().position, Pos(500));
}

TEST_P(StagingStoreTest, OpenRemovesLeftoversOfTheSpool) {
  {
    auto s = env_.Open(CsvOptions{});
    ASSERT_OK(s);
    ASSERT_OK((*s)->RegisterSchema(MakeSchema("a", 2), Pos(1)));
    ASSERT_OK((*s)->BeginTransaction(Pos(1), 1));
    ASSERT_OK((*s)->Append("db", "a", 'I', Cells({"1", "x"})));
    ASSERT_OK((*s)->Commit(Pos(2)));
    // Destroyed without a flush, like a crash: the building file stays behind.
  }
  EXPECT_EQ(env_.SpoolFiles(), 1);
  auto s = env_.Open(CsvOptions{});
  ASSERT_OK(s);
  EXPECT_EQ(env_.SpoolFiles(), 0);
  ASSERT_OK(RunTxn(s->get(), {1, 2, 1, {{"a", 'I', {"1", "x"}}}}, {{"a", MakeSchema("a", 2)}}));
  ASSERT_OK((*s)->Flush(0));
  EXPECT_EQ(env_.SpoolFiles(), 0);
  // schema, manifest, CSV, checkpoint
  EXPECT_EQ(env_.Keys("").size(), 4u);
}

TEST_P(StagingStoreTest, CorruptCheckpointNamesTheObject) {
  ASSERT_OK(env_.store().Put("_binlake/checkpoint.json", "{\"position\": 3"));
  auto s = env_.Open(CsvOptions{});
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("checkpoint.json"), std::string::npos);
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

// A relative folder is the working directory's; a remote store's default spool is a cache folder
// named after the URI.
TEST(StagingOpenTest, RelativeFolderAndDefaultSpool) {
  TempDir dir;
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  auto s = Staging::Open("staging/here", CsvOptions{}, FlushPolicy{});
  fs::current_path(cwd);
  ASSERT_OK(s);
  EXPECT_TRUE(fs::is_directory(dir.path() + "/staging/here"));

  const char* old = std::getenv("XDG_CACHE_HOME");
  const std::string saved = old == nullptr ? "" : old;
  ::setenv("XDG_CACHE_HOME", dir.path().c_str(), 1);
  auto a = DefaultSpoolDir("s3://bucket/a");
  auto b = DefaultSpoolDir("s3://bucket/b");
  if (old == nullptr) {
    ::unsetenv("XDG_CACHE_HOME");
  } else {
    ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
  }
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_TRUE(a->starts_with(dir.path() + "/binlake/spool/")) << *a;
  EXPECT_NE(*a, *b);
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

TEST_P(StagingStoreTest, EveryFlushStepReplaysToTheSameBytes) {
  const Workload w;
  Env clean(GetParam());
  {
    auto s = clean.Open(CrashOptions());
    ASSERT_OK(s);
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(Replay(s->get(), w, w.second, 0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(Replay(s->get(), w, w.third, 0));
    ASSERT_OK((*s)->Flush(0));
  }
  const auto expected = clean.Snapshot();
  ASSERT_EQ(clean.Csvs("b").size(), 3u);

  // 4 files: intent + 2 per file + checkpoint + intent removal = 11 steps.
  for (int crash_after = 0; crash_after <= 11; ++crash_after) {
    SCOPED_TRACE("crash after " + std::to_string(crash_after) + " steps");
    Env env(GetParam());
    {
      auto s = env.Open(CrashOptions());
      ASSERT_OK(s);
      ASSERT_OK(Replay(s->get(), w, w.first, 0));
      ASSERT_OK((*s)->Flush(0));
    }
    {
      StagingTestHooks hooks;
      hooks.crash_after_flush_steps = crash_after;
      auto s = env.OpenWithHooks(CrashOptions(), hooks);
      ASSERT_OK(s);
      ASSERT_OK(Replay(s->get(), w, w.second, (*s)->checkpoint().position.pos));
      Status st = (*s)->Flush(0);
      EXPECT_EQ(st.ok(), crash_after == 11) << st.ToString();
      if (!st.ok()) {
        EXPECT_EQ((*s)->Flush(0).code(), st.code());  // broken until reopened
      }
    }
    // A remote store resumes from its own objects alone.
    env.WipeSpool();
    {
      auto s = env.Open(CrashOptions());
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
    EXPECT_EQ(env.Snapshot(), expected);
    EXPECT_EQ(env.SpoolFiles(), 0);
  }
}

TEST_P(StagingStoreTest, ReplayThatOvershootsIsCorruption) {
  const Workload w;
  {
    StagingTestHooks hooks;
    hooks.crash_after_flush_steps = 3;
    auto s = env_.OpenWithHooks(CrashOptions(), hooks);
    ASSERT_OK(s);
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    EXPECT_FALSE((*s)->Flush(0).ok());
  }
  auto s = env_.Open(CrashOptions());
  ASSERT_OK(s);
  ASSERT_OK(RunTxn(s->get(), w.first[0], w.v1));
  ASSERT_OK((*s)->BeginTransaction(Pos(200), 1));
  EXPECT_EQ((*s)->Commit(Pos(350)).code(), StatusCode::kCorruption);
}

// The full load of the workload's tables at Pos(100): `rows` rows of a (several LOAD files), b
// and c empty; `finish`: false stops after the rows, as a crash.
Status FullLoad(Staging* s, const Workload& w, int rows, bool finish) {
  if (!s->checkpoint().full_load_done) BL_RETURN_IF_ERROR(s->ResetFullLoad());
  for (const auto& [name, schema] : w.v1) {
    BL_RETURN_IF_ERROR(s->RegisterSchema(schema, Pos(100)).status());
    BL_ASSIGN_OR_RETURN(auto load, s->BeginLoad("db", name, Pos(100)));
    for (int i = 0; name == "a" && i < rows; ++i) {
      BL_RETURN_IF_ERROR(load->AppendRow(Cells({std::to_string(i), "row " + std::to_string(i)})));
    }
    if (!finish) return Status::Ok();
    BL_RETURN_IF_ERROR(load->Finish());
  }
  return s->FinishFullLoad(Pos(100));
}

// A re-load (the checkpoint's binlog purged) gives up an interrupted flush: its sequences stay
// used, so the new LOAD files' after_sequence covers any file of it that was published.
TEST_P(StagingStoreTest, ResetFullLoadGivesUpAnInterruptedFlush) {
  const Workload w;
  {
    StagingTestHooks hooks;
    hooks.crash_after_flush_steps = 3;  // the intent and the first file's manifest and CSV
    auto s = env_.OpenWithHooks(CrashOptions(), hooks);
    ASSERT_OK(s);
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    EXPECT_FALSE((*s)->Flush(0).ok());
  }
  ASSERT_TRUE(env_.Exists("_binlake/flush-intent.json"));
  auto s = env_.Open(CrashOptions());
  ASSERT_OK(s);
  const uint64_t first = (*s)->checkpoint().next_sequence;
  ASSERT_OK((*s)->ResetFullLoad());
  EXPECT_FALSE(env_.Exists("_binlake/flush-intent.json"));
  const uint64_t next = (*s)->checkpoint().next_sequence;
  EXPECT_EQ(next, first + 2);  // the interrupted flush had two files (a and b)
  ASSERT_OK(FullLoad(s->get(), w, 3, true));
  for (const char* table : {"a", "b", "c"}) {
    auto m = ReadManifest(env_.store(), "db", table, "LOAD00000001.csv");
    ASSERT_OK(m);
    EXPECT_EQ(m->after_sequence, next - 1) << table;
  }
  s = env_.Open(CrashOptions());
  ASSERT_OK(s);
  EXPECT_TRUE((*s)->checkpoint().full_load_done);
  EXPECT_EQ((*s)->checkpoint().next_sequence, next);
  EXPECT_EQ((*s)->checkpoint().position, Pos(100));
}

// A table loaded while changes stream (renamed into the capture): its LOAD files' after_sequence
// also covers the change files pending at that moment, which the next flush numbers first.
TEST_P(StagingStoreTest, LoadWhileChangesArePendingCoversThem) {
  const Workload w;
  auto s = env_.Open(CrashOptions());
  ASSERT_OK(s);
  ASSERT_OK(FullLoad(s->get(), w, 3, true));
  ASSERT_OK(Replay(s->get(), w, w.first, 0));  // pending: a file of a and one of b
  const uint64_t next = (*s)->checkpoint().next_sequence;
  TableSchema d = MakeSchema("d", 2);
  ASSERT_OK((*s)->RegisterSchema(d, Pos(300)).status());
  auto load = (*s)->BeginLoad("db", "d", Pos(300));
  ASSERT_OK(load);
  ASSERT_OK((*load)->AppendRow(Cells({"1", "loaded"})));
  ASSERT_OK((*load)->Finish());
  ASSERT_OK((*s)->Flush(0));
  auto m = ReadManifest(env_.store(), "db", "d", "LOAD00000001.csv");
  ASSERT_OK(m);
  EXPECT_EQ(m->after_sequence, next + 1);
  EXPECT_EQ((*s)->checkpoint().next_sequence, next + 2);  // the two pending files: next, next + 1
}

// A capture (full load, then changes) whose process dies in the full load, inside a transaction
// and inside a flush, with the spool wiped each time (a new machine): it resumes from the store's
// checkpoint, schemas and intent alone and writes the same objects with the same bytes.
TEST_P(StagingStoreTest, CaptureResumesFromTheStoreWithTheSpoolWiped) {
  const Workload w;
  CsvOptions o = CrashOptions();
  o.max_file_bytes = 200;
  StagingTestHooks hooks;
  hooks.load_time_us = 8'000'000'000'000'000;
  Env clean(GetParam());
  {
    auto s = clean.OpenWithHooks(o, hooks);
    ASSERT_OK(s);
    ASSERT_OK(FullLoad(s->get(), w, 40, true));
    for (const auto* batch : {&w.first, &w.second, &w.third}) {
      ASSERT_OK(Replay(s->get(), w, *batch, 0));
      ASSERT_OK((*s)->Flush(0));
    }
  }
  const auto expected = clean.Snapshot();
  ASSERT_GE(clean.Csvs("a").size(), 6u);  // LOAD files and change files

  // 1: dies in the full load (of more rows than the next attempt finds).
  {
    auto s = env_.OpenWithHooks(o, hooks);
    ASSERT_OK(s);
    ASSERT_OK(FullLoad(s->get(), w, 70, false));
  }
  env_.WipeSpool();
  // 2: redoes the full load, flushes the first changes, dies inside the second batch.
  {
    auto s = env_.OpenWithHooks(o, hooks);
    ASSERT_OK(s);
    EXPECT_FALSE((*s)->checkpoint().full_load_done);
    ASSERT_OK(FullLoad(s->get(), w, 40, true));
    ASSERT_OK(Replay(s->get(), w, w.first, 0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(RunTxn(s->get(), w.second[0], w.SchemasFor(w.second[0])));
    ASSERT_OK((*s)->BeginTransaction(Pos(400), 1));
    ASSERT_OK((*s)->Append("db", "b", 'D', Cells({"1", "x,y"})));
  }
  env_.WipeSpool();
  // 3: resumes at the checkpoint, dies in the second flush after its intent and one manifest.
  {
    StagingTestHooks crash = hooks;
    crash.crash_after_flush_steps = 2;
    auto s = env_.OpenWithHooks(o, crash);
    ASSERT_OK(s);
    EXPECT_TRUE((*s)->checkpoint().full_load_done);
    ASSERT_EQ((*s)->checkpoint().position, Pos(300));
    ASSERT_OK(Replay(s->get(), w, w.second, 300));
    EXPECT_FALSE((*s)->Flush(0).ok());
  }
  env_.WipeSpool();
  // 4: replays the interrupted flush from the intent, then goes on.
  {
    auto s = env_.OpenWithHooks(o, hooks);
    ASSERT_OK(s);
    ASSERT_EQ((*s)->checkpoint().position, Pos(300));
    ASSERT_OK(Replay(s->get(), w, w.second, 300));
    EXPECT_TRUE((*s)->ShouldFlush(0));
    ASSERT_OK((*s)->Flush(0));
    ASSERT_OK(Replay(s->get(), w, w.third, 0));
    ASSERT_OK((*s)->Flush(0));
  }
  EXPECT_EQ(env_.Snapshot(), expected);
  EXPECT_EQ(env_.SpoolFiles(), 0);
}

// Rows go to disk as they come: a big transaction does not grow memory.
TEST_P(StagingStoreTest, BigTransactionHasBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's quarantine keeps freed memory resident; RSS says nothing here";
#endif
  auto rss_kb = [] {
    std::ifstream in("/proc/self/statm");
    long pages = 0, resident = 0;
    in >> pages >> resident;
    return resident * (::sysconf(_SC_PAGESIZE) / 1024);
  };
  auto s = env_.Open(CsvOptions{});
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

INSTANTIATE_TEST_SUITE_P(Stores, StagingStoreTest, ::testing::ValuesIn(Backends()), BackendName);
INSTANTIATE_TEST_SUITE_P(Stores, StagingCdcTest, ::testing::ValuesIn(Backends()), BackendName);

}  // namespace
}  // namespace binlake::staging
