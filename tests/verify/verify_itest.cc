// `binlake verify` against the fixture's MariaDB and lakes built by `binlake capture` + `binlake
// trigger` (or `binlake run`): equal tables pass; every kind of difference, in the source or in
// the lake, is reported with its key and exits 1; every MySQL type carried through is equal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "lake/lake.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"
#include "testing/test_mysql.h"
#include "util/files.h"
#include "verify/verify.h"

namespace binlake::verify {
namespace {

namespace fs = std::filesystem;
using binlake::testing::TempDir;
using binlake::testing::TestMysql;
using Kind = RowDiff::Kind;

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun Binlake(const std::string& args, const std::string& dir) {
  const std::string err_path = dir + "/cli.stderr";
  const std::string cmd = std::string(BINLAKE_BINARY) + " " + args + " 2>" + err_path;
  CliRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err_path);
  r.err.assign(std::istreambuf_iterator<char>(e), std::istreambuf_iterator<char>());
  return r;
}

// A config for one database of the fixture's server, a staging folder and a lake in a temp dir.
class Pipeline {
 public:
  Pipeline(TestMysql& db, const std::string& database, int buckets) : db_(db), database_(database) {
    std::ifstream in(db.dir() + "/password");
    std::string pw;
    std::getline(in, pw);
    const std::string pw_path = dir_.path() + "/password";
    std::ofstream(pw_path) << pw << "\n";
    chmod(pw_path.c_str(), 0600);
    config_ = dir_.path() + "/binlake.toml";
    std::ofstream(config_) << "[source]\nport = " << db.port()
                           << "\nuser = \"binlake\"\npassword_file = \"" << pw_path
                           << "\"\nserver_id = " << 6000 + getpid() % 1000
                           << "\nheartbeat_ms = 100\n\n[capture]\nstaging = \"" << staging()
                           << "\"\ninclude = [\"" << database
                           << ".*\"]\nmin_retention_hours = 0\n\n[capture.flush]\ninterval_ms = "
                              "100\n\n[lake]\npath = \""
                           << lake() << "\"\nbuckets = " << buckets << "\n";
  }

  const std::string& dir() const { return dir_.path(); }
  const std::string& config() const { return config_; }
  std::string staging() const { return dir_.path() + "/staging"; }
  std::string lake() const { return dir_.path() + "/lake"; }
  std::string TableDir(const std::string& table) const {
    return lake() + "/" + database_ + "/" + table;
  }

  // The full load into staging, then every staged file applied.
  Status LoadAndApply() {
    CliRun c = Binlake("capture --config " + config_ + " --migration-type full-load", dir());
    if (c.code != 0) return Status::Internal("binlake capture: " + c.err);
    CliRun t = Binlake("trigger --config " + config_ + " --once", dir());
    if (t.code != 0) return Status::Internal("binlake trigger: " + t.err);
    return Status::Ok();
  }

  VerifyOptions Options() const {
    VerifyOptions o;
    o.connection = db_.Options();
    o.filter.include = {database_ + ".*"};
    o.lake = lake();
    return o;
  }

 private:
  TestMysql& db_;
  std::string database_;
  TempDir dir_;
  std::string config_;
};

// A table of each kind: `acct` with a primary key and the types the mutations change, `views`
// without a key (duplicates).
constexpr const char* kAcctRows =
    "SELECT seq, seq * 10, seq * 1.25, '2024-01-01 00:00:00.000001' + INTERVAL seq SECOND, "
    "CONCAT('name', seq), UNHEX(LPAD(HEX(seq), 4, '0')), IF(seq % 5 = 0, NULL, 'x') FROM ";

class VerifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto db = TestMysql::FromEnv();
    ASSERT_OK(db);
    db_ = std::move(db).value().release();
    ASSERT_OK(db_->Exec("DROP DATABASE IF EXISTS verify_it"));
    ASSERT_OK(db_->Exec("CREATE DATABASE verify_it"));
    ASSERT_OK(
        db_->Exec("CREATE TABLE verify_it.acct (id INT PRIMARY KEY, n INT, amount DECIMAL(12,2), "
                  "at DATETIME(6), name VARCHAR(40), raw BLOB, note VARCHAR(10))"));
    ASSERT_OK(
        db_->Exec(std::string("INSERT INTO verify_it.acct ") + kAcctRows + "mysql.seq_1_to_200"));
    ASSERT_OK(db_->Exec("CREATE TABLE verify_it.views (who INT, path VARCHAR(20))"));
    ASSERT_OK(db_->Exec(
        "INSERT INTO verify_it.views VALUES (1, '/'), (1, '/'), (2, '/a'), (3, NULL), (4, '')"));
    pipeline_ = new Pipeline(*db_, "verify_it", 4);
    ASSERT_OK(pipeline_->LoadAndApply());
  }
  static void TearDownTestSuite() {
    if (db_) (void)db_->Exec("DROP DATABASE IF EXISTS verify_it");
    delete pipeline_;
    delete db_;
    pipeline_ = nullptr;
    db_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(pipeline_ != nullptr); }

  static Result<VerifyReport> Verify() { return VerifyTables(pipeline_->Options()); }

  static const TableReport* Find(const VerifyReport& r, const std::string& table) {
    for (const auto& t : r.tables) {
      if (t.table == table) return &t;
    }
    return nullptr;
  }

  // Commits a Delta version with these actions on top of the table's latest one.
  static Status CommitActions(const std::string& table, const std::vector<nlohmann::json>& a) {
    const std::string dir = pipeline_->TableDir(table);
    BL_ASSIGN_OR_RETURN(auto snap, lake::ReadDeltaLog(dir));
    std::vector<std::string> lines;
    for (const auto& j : a) lines.push_back(j.dump());
    BL_ASSIGN_OR_RETURN(bool won, lake::TryCommitDelta(dir, snap.version + 1, lines));
    return won ? Status::Ok() : Status::Internal("lost a commit race");
  }
  static nlohmann::json Remove(const std::string& path) {
    return {{"remove", {{"path", path}, {"deletionTimestamp", 0}, {"dataChange", true}}}};
  }
  static nlohmann::json Add(const std::string& path, int64_t size) {
    return {{"add",
             {{"path", path},
              {"partitionValues", nlohmann::json::object()},
              {"size", size},
              {"modificationTime", 0},
              {"dataChange", true}}}};
  }

  static TestMysql* db_;
  static Pipeline* pipeline_;
};

TestMysql* VerifyTest::db_ = nullptr;
Pipeline* VerifyTest::pipeline_ = nullptr;

TEST_F(VerifyTest, EqualTablesPass) {
  auto r = Verify();
  ASSERT_OK(r);
  EXPECT_TRUE(r->equal());
  ASSERT_EQ(r->tables.size(), 2u);
  const TableReport* acct = Find(*r, "acct");
  ASSERT_TRUE(acct);
  EXPECT_EQ(acct->status, TableStatus::kOk);
  EXPECT_EQ(acct->source_rows, 200);
  EXPECT_EQ(acct->lake_rows, 200);
  EXPECT_EQ(acct->source_checksum, acct->lake_checksum);
  EXPECT_EQ(acct->source_checksum.size(), 32u);
  EXPECT_EQ(acct->buckets, 4);
  EXPECT_EQ(Find(*r, "views")->lake_rows, 5);
  EXPECT_FALSE(r->source_position.empty());

  CliRun c = Binlake("verify --config " + pipeline_->config(), pipeline_->dir());
  EXPECT_EQ(c.code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find("verify_it.acct"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("EQUAL: 2 tables"), std::string::npos) << c.out;
  c = Binlake("verify --json --config " + pipeline_->config(), pipeline_->dir());
  EXPECT_EQ(c.code, 0) << c.err;
  auto j = nlohmann::json::parse(c.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << c.out;
  EXPECT_EQ(j["equal"], true);
  EXPECT_EQ(j["tables"].size(), 2u);
  EXPECT_EQ(j["tables"][0]["status"], "OK");
}

struct Mutation {
  std::string what, change, undo, table;
  std::vector<std::pair<Kind, std::string>> diffs;  // kind, key_text
  std::vector<std::string> columns;                 // of the first diff, when values differ
};

TEST_F(VerifyTest, EachDifferenceInTheSourceIsReportedWithItsKey) {
  const std::string more_rows = std::string("INSERT INTO verify_it.acct ") + kAcctRows;
  const std::vector<Mutation> cases = {
      {"a missing row",
       "INSERT INTO verify_it.acct VALUES (1000, 1, 1, NULL, 'new', NULL, NULL)",
       "DELETE FROM verify_it.acct WHERE id = 1000",
       "acct",
       {{Kind::kMissingInLake, "id=1000"}},
       {}},
      {"an extra row",
       "DELETE FROM verify_it.acct WHERE id = 2",
       more_rows + "mysql.seq_2_to_2",
       "acct",
       {{Kind::kExtraInLake, "id=2"}},
       {}},
      {"an int",
       "UPDATE verify_it.acct SET n = n + 1 WHERE id = 3",
       "UPDATE verify_it.acct SET n = n - 1 WHERE id = 3",
       "acct",
       {{Kind::kValuesDiffer, "id=3"}},
       {"n"}},
      {"a decimal",
       "UPDATE verify_it.acct SET amount = amount + 0.01 WHERE id = 4",
       "UPDATE verify_it.acct SET amount = amount - 0.01 WHERE id = 4",
       "acct",
       {{Kind::kValuesDiffer, "id=4"}},
       {"amount"}},
      {"a datetime",
       "UPDATE verify_it.acct SET at = at + INTERVAL 1 MICROSECOND WHERE id = 6",
       "UPDATE verify_it.acct SET at = at - INTERVAL 1 MICROSECOND WHERE id = 6",
       "acct",
       {{Kind::kValuesDiffer, "id=6"}},
       {"at"}},
      {"a string",
       "UPDATE verify_it.acct SET name = 'Name7' WHERE id = 7",
       "UPDATE verify_it.acct SET name = 'name7' WHERE id = 7",
       "acct",
       {{Kind::kValuesDiffer, "id=7"}},
       {"name"}},
      {"a blob",
       "UPDATE verify_it.acct SET raw = x'0009' WHERE id = 8",
       "UPDATE verify_it.acct SET raw = x'0008' WHERE id = 8",
       "acct",
       {{Kind::kValuesDiffer, "id=8"}},
       {"raw"}},
      {"an empty string for NULL",
       "UPDATE verify_it.acct SET note = '' WHERE id = 10",
       "UPDATE verify_it.acct SET note = NULL WHERE id = 10",
       "acct",
       {{Kind::kValuesDiffer, "id=10"}},
       {"note"}},
      {"NULL for an empty string (no key)",
       "UPDATE verify_it.views SET path = NULL WHERE who = 4",
       "UPDATE verify_it.views SET path = '' WHERE who = 4",
       "views",
       {{Kind::kMissingInLake, "who=4, path=NULL"}, {Kind::kExtraInLake, "who=4, path=''"}},
       {}},
      {"a duplicated row (no key)",
       "INSERT INTO verify_it.views VALUES (2, '/a')",
       "DELETE FROM verify_it.views WHERE who = 2 LIMIT 1",
       "views",
       {{Kind::kMissingInLake, "who=2, path='/a'"}},
       {}},
      {"one copy of a duplicate gone (no key)",
       "DELETE FROM verify_it.views WHERE who = 1 LIMIT 1",
       "INSERT INTO verify_it.views VALUES (1, '/')",
       "views",
       {{Kind::kExtraInLake, "who=1, path='/'"}},
       {}},
  };
  for (const auto& m : cases) {
    SCOPED_TRACE(m.what);
    ASSERT_OK(db_->Exec(m.change));
    auto r = Verify();
    ASSERT_OK(db_->Exec(m.undo));
    ASSERT_OK(r);
    EXPECT_FALSE(r->equal());
    for (const auto& t : r->tables) {
      EXPECT_EQ(t.status, t.table == m.table ? TableStatus::kDiff : TableStatus::kOk) << t.table;
    }
    const TableReport* t = Find(*r, m.table);
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->problems.empty());
    EXPECT_FALSE(t->differing_buckets.empty());
    EXPECT_EQ(t->differing_rows, m.diffs.size());
    ASSERT_EQ(t->diffs.size(), m.diffs.size());
    for (size_t i = 0; i < m.diffs.size(); i++) {
      EXPECT_EQ(t->diffs[i].kind, m.diffs[i].first) << t->diffs[i].Describe();
      EXPECT_EQ(t->diffs[i].key_text, m.diffs[i].second);
    }
    if (!m.columns.empty()) {
      EXPECT_EQ(t->diffs[0].columns, m.columns);
    }
  }
  // The copies of a keyless row, and the key as values.
  ASSERT_OK(db_->Exec("INSERT INTO verify_it.views VALUES (1, '/')"));
  auto r = Verify();
  ASSERT_OK(db_->Exec("DELETE FROM verify_it.views WHERE who = 1 LIMIT 1"));
  ASSERT_OK(r);
  const RowDiff& d = Find(*r, "views")->diffs.at(0);
  EXPECT_EQ(d.source_copies, 3);
  EXPECT_EQ(d.lake_copies, 2);
  EXPECT_EQ(d.Describe(), "missing in lake (3 in the source, 2 in the lake)");
  ASSERT_EQ(d.key.size(), 2u);
  EXPECT_EQ(d.key[0].first, "who");
  EXPECT_EQ(d.key[0].second, "1");
  EXPECT_EQ(d.key[1].second, "/");

  auto again = Verify();
  ASSERT_OK(again);
  EXPECT_TRUE(again->equal()) << "the undo statements restore the source";
}

TEST_F(VerifyTest, TheCommandExitsOneAndNamesTheKeys) {
  ASSERT_OK(db_->Exec("UPDATE verify_it.acct SET amount = amount + 1, name = 'x' WHERE id = 12"));
  ASSERT_OK(db_->Exec("DELETE FROM verify_it.acct WHERE id = 13"));
  CliRun c = Binlake("verify --config " + pipeline_->config(), pipeline_->dir());
  CliRun j = Binlake("verify --json --config " + pipeline_->config() + " --table verify_it.acct",
                     pipeline_->dir());
  ASSERT_OK(
      db_->Exec("UPDATE verify_it.acct SET amount = amount - 1, name = 'name12' WHERE id = 12"));
  ASSERT_OK(
      db_->Exec(std::string("INSERT INTO verify_it.acct ") + kAcctRows + "mysql.seq_13_to_13"));
  EXPECT_EQ(c.code, 1) << c.out << c.err;
  EXPECT_NE(c.out.find("DIFF"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("id=12  values differ in columns amount, name"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("id=13  extra in lake"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("DIFFERENT: 2 tables, 1 differs"), std::string::npos) << c.out;
  EXPECT_EQ(j.code, 1) << j.err;
  auto json = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << j.out;
  ASSERT_EQ(json["tables"].size(), 1u);
  const auto& t = json["tables"][0];
  EXPECT_EQ(t["status"], "DIFF");
  EXPECT_EQ(t["source_rows"], 199);
  EXPECT_EQ(t["lake_rows"], 200);
  EXPECT_EQ(t["differing_rows"], 2);
  EXPECT_EQ(t["diffs"][0]["key"]["id"], "12");
  EXPECT_EQ(t["diffs"][0]["kind"], "values_differ");
  EXPECT_EQ(t["diffs"][0]["columns"], nlohmann::json({"amount", "name"}));
  EXPECT_EQ(t["diffs"][1]["kind"], "extra_in_lake");
}

TEST_F(VerifyTest, ASchemaDifferenceIsADiff) {
  ASSERT_OK(db_->Exec("ALTER TABLE verify_it.acct ADD COLUMN extra INT"));
  auto r = Verify();
  ASSERT_OK(db_->Exec("ALTER TABLE verify_it.acct DROP COLUMN extra"));
  ASSERT_OK(r);
  const TableReport* t = Find(*r, "acct");
  EXPECT_EQ(t->status, TableStatus::kDiff);
  EXPECT_EQ(t->problems, std::vector<std::string>{"column extra is not in the lake table"});
  EXPECT_TRUE(t->diffs.empty());
}

TEST_F(VerifyTest, ALakeMissingADataFileReportsTheFirstTenKeysInOrder) {
  auto snap = lake::ReadDeltaLog(pipeline_->TableDir("acct"));
  ASSERT_OK(snap);
  ASSERT_EQ(snap->files.size(), 4u);
  const auto [path, size] = *snap->files.begin();
  ASSERT_OK(CommitActions("acct", {Remove(path)}));
  auto r = Verify();
  ASSERT_OK(CommitActions("acct", {Add(path, size)}));
  ASSERT_OK(r);
  const TableReport* t = Find(*r, "acct");
  EXPECT_EQ(t->status, TableStatus::kDiff);
  EXPECT_EQ(t->differing_buckets, std::vector<int>{std::stoi(path.substr(7, 4))});
  const int64_t gone = t->source_rows - t->lake_rows;
  EXPECT_GT(gone, 10);
  EXPECT_EQ(t->differing_rows, static_cast<uint64_t>(gone));
  ASSERT_EQ(t->diffs.size(), 10u);
  int last = 0;
  for (const auto& d : t->diffs) {
    EXPECT_EQ(d.kind, Kind::kMissingInLake);
    const int id = std::stoi(d.key.at(0).second.value());
    EXPECT_GT(id, last) << "keys sorted";
    last = id;
  }
  auto again = Verify();
  ASSERT_OK(again);
  EXPECT_TRUE(again->equal());
}

TEST_F(VerifyTest, ARowInTheWrongBucketFolderIsReported) {
  const std::string dir = pipeline_->TableDir("acct");
  auto snap = lake::ReadDeltaLog(dir);
  ASSERT_OK(snap);
  const auto [path, size] = *snap->files.begin();
  const std::string bucket = path.substr(0, path.find('/'));
  const std::string other = bucket == "bucket=0000" ? "bucket=0001" : "bucket=0000";
  const std::string moved = other + "/moved.parquet";
  ASSERT_EQ(link((dir + "/" + path).c_str(), (dir + "/" + moved).c_str()), 0);
  ASSERT_OK(CommitActions("acct", {Remove(path), Add(moved, size)}));
  auto r = Verify();
  ASSERT_OK(CommitActions("acct", {Remove(moved), Add(path, size)}));
  ASSERT_OK(r);
  const TableReport* t = Find(*r, "acct");
  EXPECT_EQ(t->status, TableStatus::kDiff);
  EXPECT_EQ(t->source_rows, t->lake_rows);
  EXPECT_EQ(t->source_checksum, t->lake_checksum) << "the same rows, in other folders";
  EXPECT_EQ(t->differing_buckets.size(), 2u);
  ASSERT_FALSE(t->diffs.empty());
  EXPECT_EQ(t->diffs[0].kind, Kind::kWrongBucket);
  EXPECT_EQ(t->diffs[0].lake_bucket, std::stoi(other.substr(7)));
  EXPECT_EQ(t->diffs[0].source_bucket, std::stoi(bucket.substr(7)));
}

// Files of other engines (Spark, delta-rs) sit outside the bucket folders and may hold rows of
// any bucket: the right rows there are equal, a duplicate there is a difference.
TEST_F(VerifyTest, RowsInOtherEnginesFilesOutsideTheBucketsAreEqual) {
  for (const std::string table : {"acct", "views"}) {
    SCOPED_TRACE(table);
    const std::string dir = pipeline_->TableDir(table);
    auto snap = lake::ReadDeltaLog(dir);
    ASSERT_OK(snap);
    const auto [path, size] = *snap->files.begin();
    ASSERT_EQ(link((dir + "/" + path).c_str(), (dir + "/part-00000 spark.parquet").c_str()), 0);
    ASSERT_OK(CommitActions(table, {Remove(path), Add("part-00000%20spark.parquet", size)}));
    auto r = Verify();
    ASSERT_OK(r);
    const TableReport* t = Find(*r, table);
    EXPECT_EQ(t->status, TableStatus::kOk) << (t->diffs.empty() ? "" : t->diffs[0].Describe());
    EXPECT_TRUE(t->diffs.empty());
    EXPECT_NE(t->note.find("outside the bucket folders"), std::string::npos) << t->note;
    CliRun c = Binlake("verify --config " + pipeline_->config(), pipeline_->dir());
    EXPECT_EQ(c.code, 0) << c.out << c.err;

    // The same rows twice: once in their bucket, once in another engine's file.
    ASSERT_OK(CommitActions(table, {Add(path, size)}));
    r = Verify();
    ASSERT_OK(r);
    t = Find(*r, table);
    EXPECT_EQ(t->status, TableStatus::kDiff);
    ASSERT_FALSE(t->diffs.empty());
    EXPECT_EQ(t->diffs[0].kind, Kind::kExtraInLake) << t->diffs[0].Describe();
    ASSERT_OK(CommitActions(table, {Remove("part-00000%20spark.parquet")}));
    r = Verify();
    ASSERT_OK(r);
    EXPECT_EQ(Find(*r, table)->status, TableStatus::kOk);
  }
}

TEST_F(VerifyTest, ATableOnOneSideOnlyIsMissing) {
  ASSERT_OK(db_->Exec("CREATE TABLE verify_it.fresh (id INT PRIMARY KEY)"));
  ASSERT_OK(db_->Exec("CREATE TABLE verify_it.empty (id INT PRIMARY KEY)"));
  ASSERT_OK(db_->Exec("INSERT INTO verify_it.fresh VALUES (1)"));
  fs::copy(pipeline_->TableDir("views"), pipeline_->TableDir("ghost"), fs::copy_options::recursive);
  auto r = Verify();
  CliRun c = Binlake("verify --config " + pipeline_->config(), pipeline_->dir());
  ASSERT_OK(db_->Exec("DROP TABLE verify_it.fresh, verify_it.empty"));
  fs::remove_all(pipeline_->TableDir("ghost"));
  ASSERT_OK(r);
  ASSERT_EQ(r->tables.size(), 5u);
  const TableReport* fresh = Find(*r, "fresh");
  EXPECT_EQ(fresh->status, TableStatus::kMissing);
  EXPECT_EQ(fresh->source_rows, 1);
  EXPECT_EQ(fresh->lake_rows, -1);
  const TableReport* ghost = Find(*r, "ghost");
  EXPECT_EQ(ghost->status, TableStatus::kMissing);
  EXPECT_EQ(ghost->source_rows, -1);
  EXPECT_EQ(ghost->lake_rows, 5);
  // The pipeline writes a lake table with its first row: an empty one is equal.
  const TableReport* empty = Find(*r, "empty");
  EXPECT_EQ(empty->status, TableStatus::kOk);
  EXPECT_FALSE(empty->note.empty());
  EXPECT_EQ(c.code, 1);
  EXPECT_NE(c.out.find("MISSING"), std::string::npos) << c.out;
}

TEST_F(VerifyTest, TableSelectionAndErrors) {
  VerifyOptions o = pipeline_->Options();
  o.tables = {"verify_it.vi*"};
  auto r = VerifyTables(o);
  ASSERT_OK(r);
  ASSERT_EQ(r->tables.size(), 1u);
  EXPECT_EQ(r->tables[0].table, "views");

  o.tables = {"verify_it.nosuch"};
  r = VerifyTables(o);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();

  const std::string& dir = pipeline_->dir();
  CliRun c = Binlake("verify --config " + pipeline_->config() + " --table verify_it.nosuch", dir);
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("--table verify_it.nosuch matches no"), std::string::npos) << c.err;
  EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
  c = Binlake("verify --config " + pipeline_->config() + " --wait-ms soon", dir);
  EXPECT_EQ(c.code, 2);
  c = Binlake("verify", dir);
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("--config FILE is required"), std::string::npos) << c.err;

  // An unreadable lake and an unreachable source are errors, not differences.
  std::string text;
  {
    std::ifstream in(pipeline_->config());
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto variant = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    t.replace(t.find(from), from.size(), to);
    const std::string path = dir + "/variant.toml";
    std::ofstream(path) << t;
    return Binlake("verify --config " + path, dir);
  };
  c = variant("path = \"" + pipeline_->lake(), "path = \"" + pipeline_->lake() + "-nowhere");
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("does not exist"), std::string::npos) << c.err;
  c = variant("path = \"" + pipeline_->lake() + "\"",
              "path = \"" + pipeline_->lake() + "\"\nformat = \"csv\"");
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("verify compares Delta tables only"), std::string::npos) << c.err;
  c = variant("port = " + std::to_string(db_->port()), "port = 1");
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("127.0.0.1:1"), std::string::npos) << c.err;
  const std::string part = pipeline_->TableDir("views") + "/" +
                           lake::ReadDeltaLog(pipeline_->TableDir("views"))->files.begin()->first;
  ASSERT_EQ(rename(part.c_str(), (part + ".away").c_str()), 0);
  c = Binlake("verify --config " + pipeline_->config(), dir);
  ASSERT_EQ(rename((part + ".away").c_str(), part.c_str()), 0);
  EXPECT_EQ(c.code, 2);
  EXPECT_NE(c.err.find("cannot open"), std::string::npos) << c.err;
}

TEST_F(VerifyTest, WaitMsRetriesUntilTheTablesAreEqual) {
  ASSERT_OK(db_->Exec("UPDATE verify_it.acct SET n = -1 WHERE id = 20"));
  std::thread fix([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    (void)db_->Exec("UPDATE verify_it.acct SET n = 200 WHERE id = 20");
  });
  VerifyOptions o = pipeline_->Options();
  o.wait_ms = 30000;
  std::vector<std::string> log;
  o.log = [&](const std::string& line) { log.push_back(line); };
  const auto start = std::chrono::steady_clock::now();
  auto r = VerifyTables(o);
  fix.join();
  ASSERT_OK(r);
  EXPECT_TRUE(r->equal());
  EXPECT_GE(r->attempts, 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("1 of 2 tables differ"), std::string::npos) << log[0];

  // Still different when the time is up: the last result, with its keys.
  ASSERT_OK(db_->Exec("UPDATE verify_it.acct SET n = -1 WHERE id = 20"));
  o.wait_ms = 600;
  r = VerifyTables(o);
  ASSERT_OK(db_->Exec("UPDATE verify_it.acct SET n = 200 WHERE id = 20"));
  ASSERT_OK(r);
  EXPECT_FALSE(r->equal());
  EXPECT_GE(r->attempts, 2);
  EXPECT_EQ(Find(*r, "acct")->diffs.at(0).key_text, "id=20");
}

// tests/binlog/all_types.sql, its inserts as the full load and its changes through the binlog,
// captured and applied by `binlake run`: every table equal.
TEST(VerifyAllTypes, EveryTypeThroughThePipelineIsEqual) {
  auto db_or = TestMysql::FromEnv();
  ASSERT_OK(db_or);
  TestMysql& db = **db_or;
  std::string sql;
  {
    std::ifstream in(std::string(BINLAKE_SOURCE_DIR) + "/tests/binlog/all_types.sql");
    sql.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_FALSE(sql.empty());
  for (size_t at; (at = sql.find("binlake_alltypes")) != std::string::npos;) {
    sql.replace(at, 16, "verify_alltypes");
  }
  const size_t changes = sql.find("-- UPDATEs");
  const size_t header_end = sql.find("DROP DATABASE");
  ASSERT_NE(changes, std::string::npos);
  ASSERT_NE(header_end, std::string::npos);
  ASSERT_OK(db.Exec(sql.substr(0, changes)));

  Pipeline p(db, "verify_alltypes", 3);
  const pid_t run = fork();
  ASSERT_GE(run, 0);
  if (run == 0) {
    const std::string log = p.dir() + "/run.log";
    if (!freopen(log.c_str(), "w", stderr)) _exit(127);
    execl(BINLAKE_BINARY, BINLAKE_BINARY, "run", "--config", p.config().c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // The changes go through the binlog once the full load is in the lake.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(p.TableDir("t_str") + "/_delta_log") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(fs::exists(p.TableDir("t_str") + "/_delta_log"));
  ASSERT_OK(db.Exec(sql.substr(0, header_end) + "USE verify_alltypes;\n" + sql.substr(changes)));

  CliRun c = Binlake("verify --wait-ms 60000 --config " + p.config(), p.dir());
  VerifyOptions o = p.Options();
  auto r = VerifyTables(o);
  kill(run, SIGINT);
  int status = 0;
  waitpid(run, &status, 0);
  (void)db.Exec("DROP DATABASE IF EXISTS verify_alltypes");
  std::ifstream log(p.dir() + "/run.log");
  std::stringstream run_log;
  run_log << log.rdbuf();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << run_log.str();
  EXPECT_EQ(c.code, 0) << c.out << c.err << run_log.str();
  ASSERT_OK(r);
  EXPECT_TRUE(r->equal());
  EXPECT_EQ(r->tables.size(), 10u);
  for (const auto& t : r->tables) {
    EXPECT_EQ(t.status, TableStatus::kOk) << t.table;
    EXPECT_GT(t.source_rows, 0) << t.table;
  }
}

}  // namespace
}  // namespace binlake::verify
