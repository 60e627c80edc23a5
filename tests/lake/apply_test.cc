#include <gtest/gtest.h>
#include <parquet/file_reader.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "binlog/value.h"
#include "lake/lake.h"
#include "staging/records.h"
#include "staging/staging.h"
#include "testing/staging_fixtures.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::lake {
namespace {

namespace fs = std::filesystem;
using staging::Cell;

using binlake::testing::Col;
using binlake::testing::Pos;
using binlake::testing::TempDir;

staging::TableSchema Schema(bool pk = true) {
  staging::TableSchema s;
  s.schema = "db";
  s.table = "t";
  s.columns = {Col("id", "int", pk ? 0 : -1), Col("amount", "decimal(10,2)"),
               Col("at", "datetime(6)"),      Col("big", "bigint unsigned"),
               Col("raw", "varbinary(8)"),    Col("name", "varchar(20)")};
  return s;
}

std::vector<std::string> RowTexts(int id, const std::string& name) {
  return {std::to_string(id),
          std::to_string(id) + ".50",
          "2024-02-29 23:59:59.000001",
          "18446744073709551615",
          "00FF",
          name};
}

std::vector<Cell> Cells(const std::vector<std::string>& t) {
  std::vector<Cell> c;
  for (const auto& s : t) c.push_back(Cell{false, s});
  return c;
}

class ApplyTest : public ::testing::Test {
 protected:
  void Stage(bool pk = true, int rows = 40) {
    auto s = staging::Staging::Open(stage_.path(), csv_, staging::FlushPolicy{});
    ASSERT_OK(s.status());
    st_ = std::move(*s);
    ASSERT_OK(st_->RegisterSchema(Schema(pk), Pos(4)).status());
    auto w = st_->BeginLoad("db", "t", Pos(4));
    ASSERT_OK(w.status());
    for (int i = 1; i <= rows; i++) ASSERT_OK((*w)->AppendRow(Cells(RowTexts(i, "n"))));
    ASSERT_OK((*w)->Finish());
    ASSERT_OK(st_->FinishFullLoad(Pos(4)));
  }
  void Change(char op, int id, const std::string& name, uint64_t pos) {
    Changes({{op, id, name}}, pos);
  }
  struct Op {
    char op;
    int id;
    std::string name;
  };
  // One change file of one transaction.
  void Changes(const std::vector<Op>& ops, uint64_t pos) {
    ASSERT_OK(st_->BeginTransaction(Pos(pos), 1700000000000000ULL + pos));
    for (const auto& o : ops)
      ASSERT_OK(st_->Append("db", "t", o.op, Cells(RowTexts(o.id, o.name))));
    ASSERT_OK(st_->Commit(Pos(pos + 1)));
    ASSERT_OK(st_->Flush(pos));
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
    o.warn = [this](const std::string& m) { warnings_.push_back(m); };
    return o;
  }
  std::shared_ptr<arrow::Table> Read() {
    auto t = ReadLakeTable(lake_.path() + "/db/t");
    EXPECT_OK(t.status());
    return t.ok() ? *t : nullptr;
  }
  std::map<int32_t, std::string> Names() {
    std::map<int32_t, std::string> out;
    auto t = Read();
    auto c = t->CombineChunks().ValueOrDie();
    auto ids = std::static_pointer_cast<arrow::Int32Array>(c->column(0)->chunk(0));
    auto names = std::static_pointer_cast<arrow::StringArray>(c->column(5)->chunk(0));
    for (int64_t i = 0; i < c->num_rows(); i++) out[ids->Value(i)] = names->GetString(i);
    return out;
  }
  TempDir stage_, lake_;
  staging::CsvOptions csv_;
  std::unique_ptr<staging::Staging> st_;
  std::vector<std::string> warnings_;
};

TEST(LakeTypesTest, MapsMysqlTypesExactly) {
  EXPECT_EQ(MapColumn(Col("a", "tinyint")).value().delta, "byte");
  EXPECT_EQ(MapColumn(Col("a", "tinyint unsigned")).value().delta, "short");
  EXPECT_EQ(MapColumn(Col("a", "int unsigned")).value().delta, "long");
  EXPECT_EQ(MapColumn(Col("a", "bigint unsigned")).value().delta, "decimal(20,0)");
  EXPECT_EQ(MapColumn(Col("a", "decimal(65,30)")).value().delta, "string");
  EXPECT_EQ(MapColumn(Col("a", "datetime(3)")).value().delta, "timestamp_ntz");
  EXPECT_EQ(MapColumn(Col("a", "timestamp")).value().delta, "timestamp");
  EXPECT_EQ(MapColumn(Col("a", "bit(64)")).value().delta, "decimal(20,0)");
  EXPECT_EQ(MapColumn(Col("a", "bit(7)")).value().delta, "long");
  EXPECT_EQ(MapColumn(Col("a", "blob")).value().delta, "binary");
  EXPECT_EQ(MapColumn(Col("a", "time(6)")).value().delta, "string");
}

TEST(LakeTypesTest, ParsesCanonicalText) {
  auto type = MapColumn(Col("a", "date")).value();
  auto b = arrow::MakeBuilder(type.arrow).ValueOrDie();
  ASSERT_OK(AppendValue(type, std::string("2024-02-29"), b.get()));
  ASSERT_OK(AppendValue(type, std::string("0000-00-00"), b.get()));
  ASSERT_OK(AppendValue(type, std::string("2023-02-29"), b.get()));
  auto a = std::static_pointer_cast<arrow::Date32Array>(b->Finish().ValueOrDie());
  EXPECT_EQ(a->Value(0), 19782);
  EXPECT_TRUE(a->IsNull(1));
  EXPECT_TRUE(a->IsNull(2));
  auto bad = MapColumn(Col("a", "int")).value();
  auto bb = arrow::MakeBuilder(bad.arrow).ValueOrDie();
  EXPECT_FALSE(AppendValue(bad, std::string("12x"), bb.get()).ok());
}

TEST_F(ApplyTest, LoadThenChangesOnceAndOnlyTouchedBuckets) {
  Stage();
  auto files = Files();
  ASSERT_EQ(files.size(), 1u);
  auto s = ApplyFiles(Options(), files);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->rows_written, 40u);
  EXPECT_EQ(Read()->num_rows(), 40);
  auto snap = ReadDeltaLog(lake_.path() + "/db/t").value();
  EXPECT_EQ(snap.version, 0);
  EXPECT_EQ(snap.min_reader, 3);
  EXPECT_EQ(snap.files.size(), 4u);

  Change('U', 7, "seven", 100);
  Change('D', 8, "n", 200);
  Change('I', 41, "new", 300);
  Change('D', 999, "n", 400);
  files = Files();
  ASSERT_EQ(files.size(), 5u);
  // Change names ("2023...") sort before LOAD names.
  s = ApplyFiles(Options(), {files[0]});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 1);
  EXPECT_EQ(s->files_removed, 1);  // one bucket rewritten
  EXPECT_EQ(s->files_added, 1);
  s = ApplyFiles(Options(), {files[3]});  // catches up 2..4 in order
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 3);
  auto names = Names();
  EXPECT_EQ(names.size(), 40u);
  EXPECT_EQ(names[7], "seven");
  EXPECT_EQ(names.count(8), 0u);
  EXPECT_EQ(names[41], "new");
  EXPECT_EQ(warnings_.size(), 1u);  // the delete of 999

  // Re-applying everything is a no-op.
  s = ApplyFiles(Options(), files);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 0);
  EXPECT_EQ(ReadDeltaLog(lake_.path() + "/db/t").value().version, 4);
  EXPECT_EQ(ReadDeltaLog(lake_.path() + "/db/t").value().txns["binlake:db.t"], 4);
}

// Applying the newest file leaves the files already applied alone: it used to replay the whole
// Delta log once per earlier file to find each one applied (cubic over a table's life).
TEST_F(ApplyTest, NewFileDoesNotRevisitAppliedOnes) {
  Stage();
  for (int i = 1; i <= 5; i++) Change('U', i, "v" + std::to_string(i), 100 * i);
  auto files = Files();  // five change files, then LOAD
  ASSERT_EQ(files.size(), 6u);
  ASSERT_OK(ApplyFiles(Options(), {files[5]}).status());
  for (size_t i = 0; i < 5; i++) {
    auto s = ApplyFiles(Options(), {files[i]});
    ASSERT_OK(s.status());
    EXPECT_EQ(s->commits, 1);
    EXPECT_EQ(s->skipped, 0) << "file " << i;
  }
  auto again = ApplyFiles(Options(), files);
  ASSERT_OK(again.status());
  EXPECT_EQ(again->commits, 0);
  EXPECT_EQ(again->skipped, 6);
  EXPECT_EQ(Names()[5], "v5");
}

// What an external runner (the Spark job) is started for: only what the Delta log lacks.
TEST_F(ApplyTest, PendingFilesFollowTheDeltaLog) {
  Stage();
  for (int i = 1; i <= 3; i++) Change('U', i, "v" + std::to_string(i), 100 * i);
  auto files = Files();  // three change files, then LOAD
  ASSERT_EQ(files.size(), 4u);
  auto pending = PendingFiles(Options(), files);
  ASSERT_OK(pending.status());
  EXPECT_EQ(*pending, files);  // no table yet: everything, in the caller's order
  ASSERT_OK(ApplyFiles(Options(), {files[3], files[1]}).status());  // LOAD, changes 1 and 2
  pending = PendingFiles(Options(), files);
  ASSERT_OK(pending.status());
  EXPECT_EQ(*pending, std::vector<std::string>{files[2]});
  // Keys relative to the staging root work as well.
  ApplyOptions o = Options();
  o.staging = stage_.path();
  const std::string key = "db/t/" + fs::path(files[2]).filename().string();
  pending = PendingFiles(o, {key, "db/t/" + fs::path(files[0]).filename().string()});
  ASSERT_OK(pending.status());
  EXPECT_EQ(*pending, std::vector<std::string>{key});
  ASSERT_OK(ApplyFiles(Options(), files).status());
  pending = PendingFiles(Options(), files);
  ASSERT_OK(pending.status());
  EXPECT_TRUE(pending->empty());
}

// A re-load (docs/lake.md "Re-loads"): the change files staged before it are never applied on top
// of it, the ones after it are, the txn only moves forward, and PendingFiles agrees.
TEST_F(ApplyTest, ReLoadSkipsOlderChangeFilesAndTheTxnMovesForward) {
  Stage();
  Change('U', 1, "old1", 100);  // sequence 1, applied before the re-load
  Change('U', 2, "old2", 200);  // sequence 2, staged but not applied before it
  ASSERT_OK(ApplyFiles(Options(), {Files()[0]}).status());
  auto snap = ReadDeltaLog(lake_.path() + "/db/t").value();
  ASSERT_EQ(snap.txns["binlake:db.t"], 1);

  ASSERT_OK(st_->ResetFullLoad());
  ASSERT_OK(st_->RegisterSchema(Schema(), Pos(1000)).status());
  auto w = st_->BeginLoad("db", "t", Pos(1000));
  ASSERT_OK(w.status());
  for (int i = 1; i <= 40; i++) ASSERT_OK((*w)->AppendRow(Cells(RowTexts(i, "re"))));
  ASSERT_OK((*w)->Finish());
  ASSERT_OK(st_->FinishFullLoad(Pos(1000)));
  auto m = staging::ReadManifest(stage_.path(), "db", "t", "LOAD00000001.csv");
  ASSERT_OK(m.status());
  EXPECT_EQ(m->after_sequence, 2u);
  Change('U', 3, "after", 1100);  // sequence 3
  const auto files = Files();     // changes 1, 2, 3, LOAD
  ASSERT_EQ(files.size(), 4u);

  // Only the old file asked for: it is older than the load, so it still applies to the table
  // as it is (a re-load in progress), and the load is not taken yet.
  auto pending = PendingFiles(Options(), {files[1]});
  ASSERT_OK(pending.status());
  EXPECT_EQ(*pending, std::vector<std::string>{files[1]});
  // The newest file: the load first (txn 2), so file 2 is no longer pending.
  pending = PendingFiles(Options(), {files[1], files[2]});
  ASSERT_OK(pending.status());
  EXPECT_EQ(*pending, std::vector<std::string>{files[2]});
  auto s = ApplyFiles(Options(), {files[2]});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 2);  // the load, then change 3
  snap = ReadDeltaLog(lake_.path() + "/db/t").value();
  EXPECT_EQ(snap.txns["binlake:db.t"], 3);
  auto names = Names();
  EXPECT_EQ(names.size(), 40u);
  EXPECT_EQ(names[1], "re");
  EXPECT_EQ(names[2], "re");
  EXPECT_EQ(names[3], "after");
  s = ApplyFiles(Options(), files);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 0);
  pending = PendingFiles(Options(), files);
  ASSERT_OK(pending.status());
  EXPECT_TRUE(pending->empty());
  // The load's commit recorded txn 2, not 0: the version log only moved forward.
  std::vector<int64_t> txns;
  for (int64_t v = 0; v <= snap.version; v++) {
    char name[32];
    std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(v));
    std::ifstream in(lake_.path() + "/db/t/_delta_log/" + name);
    std::string line;
    while (std::getline(in, line)) {
      const size_t at = line.find("\"txn\"");
      if (at == std::string::npos) continue;
      const size_t ver = line.find("\"version\":", at);
      txns.push_back(std::stoll(line.substr(ver + 10)));
    }
  }
  EXPECT_TRUE(std::is_sorted(txns.begin(), txns.end()));
  EXPECT_EQ(txns, (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST_F(ApplyTest, WholeRowIdentityWithoutPrimaryKey) {
  Stage(false);
  Change('I', 5, "n", 100);  // a duplicate of row 5
  Change('D', 5, "n", 200);  // removes one of the two
  auto s = ApplyFiles(Options(), Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(Read()->num_rows(), 40);
  ApplyOptions strict = Options();
  strict.reject_without_primary_key = true;
  TempDir other;
  strict.lake = other.path();
  EXPECT_EQ(ApplyFiles(strict, Files()).status().code(), StatusCode::kNotSupported);
}

// Every row of a lake table as text, sorted.
std::vector<std::string> SortedRows(const std::string& dir) {
  auto t = ReadLakeTable(dir).value();
  auto batch = t->CombineChunksToBatch().ValueOrDie();
  std::vector<std::string> rows;
  for (int64_t i = 0; i < batch->num_rows(); i++) {
    std::string row;
    for (int c = 0; c < batch->num_columns(); c++) {
      row += batch->column(c)->GetScalar(i).ValueOrDie()->ToString() + "|";
    }
    rows.push_back(row);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Row groups of each data file of the table's latest version.
std::vector<int> RowGroups(const std::string& table_dir) {
  std::vector<int> out;
  auto snap = ReadDeltaLog(table_dir);
  if (!snap.ok()) return out;
  for (const auto& [path, size] : snap->files) {
    auto reader = parquet::ParquetFileReader::OpenFile(table_dir + "/" + path);
    out.push_back(reader->metadata()->num_row_groups());
  }
  return out;
}

TEST_F(ApplyTest, StreamingLoadBiggerThanTheFlushGivesTheSameRows) {
  Stage(true, 3000);
  ApplyOptions small = Options();
  small.load_flush_rows = 50;  // each thread writes a bucket's rows every 50 rows
  small.threads = 2;
  auto s = ApplyFiles(small, Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(s->rows_written, 3000u);
  EXPECT_EQ(s->files_added, 4);
  for (int groups : RowGroups(lake_.path() + "/db/t")) EXPECT_GT(groups, 5);
  auto names = Names();
  ASSERT_EQ(names.size(), 3000u);
  EXPECT_EQ(names.begin()->first, 1);
  EXPECT_EQ(names.rbegin()->first, 3000);
  EXPECT_EQ(Read()->num_rows(), 3000);  // no row twice
  // The same rows as one thread with the default flush writes.
  TempDir other;
  ApplyOptions one = Options();
  one.lake = other.path();
  one.threads = 1;
  ASSERT_OK(ApplyFiles(one, Files()).status());
  EXPECT_EQ(SortedRows(lake_.path() + "/db/t"), SortedRows(other.path() + "/db/t"));
  for (int groups : RowGroups(other.path() + "/db/t")) EXPECT_EQ(groups, 1);
}

TEST_F(ApplyTest, OneChangeFileWithKeyMovesInParallelBuckets) {
  Stage();
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  Changes({{'U', 7, "seven"},
           {'D', 8, "n"},
           {'I', 1008, "moved"},  // key 8 moved to 1008
           {'D', 9, "n"},
           {'I', 9, "back"},  // deleted and inserted again
           {'I', 41, "new"},
           {'U', 41, "newer"},
           {'D', 12, "n"},
           {'I', 1012, "m"},
           {'D', 1012, "m"},
           {'I', 12, "home"}},  // moved and moved back
          100);
  ApplyOptions o = Options();
  o.threads = 2;
  auto s = ApplyFiles(o, Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 1);
  auto names = Names();
  EXPECT_EQ(names.size(), 41u);
  EXPECT_EQ(names[7], "seven");
  EXPECT_EQ(names.count(8), 0u);
  EXPECT_EQ(names[1008], "moved");
  EXPECT_EQ(names[9], "back");
  EXPECT_EQ(names[41], "newer");
  EXPECT_EQ(names[12], "home");
  EXPECT_EQ(names.count(1012), 0u);
  EXPECT_TRUE(warnings_.empty());
}

// A change file bigger than a thread's share of the memory budget is split by key into parts on
// disk and merged part by part: the same rows and warnings as a merge in memory, more files.
class SpillTest : public ApplyTest {
 public:
  void Run(bool pk) {
    Stage(pk, 3000);
    TempDir memory, spilled, spill_dir;
    ApplyOptions in_memory = Options();
    in_memory.lake = memory.path();
    std::vector<std::string> memory_warnings;
    in_memory.warn = [&](const std::string& m) { memory_warnings.push_back(m); };
    ApplyOptions small = Options();
    small.lake = spilled.path();
    small.threads = 2;
    small.memory_budget = (int64_t{48} << 20) + (int64_t{200} << 10);  // ~33 KB parts
    small.spill_dir = spill_dir.path();
    ASSERT_OK(ApplyFiles(in_memory, Files()).status());
    ASSERT_OK(ApplyFiles(small, Files()).status());
    // One transaction of 8000 changes: updates of the same keys again and again, deletes,
    // inserts of new keys, moves back and forth, and a few that miss (warnings).
    std::vector<Op> ops;
    std::map<int, std::string> live;
    for (int i = 1; i <= 3000; i++) live[i] = "n";
    uint64_t x = 12345;
    for (int k = 0; k < 8000; k++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const int id = 1 + static_cast<int>((x >> 33) % 4000);
      const std::string name = "v" + std::to_string(k);
      const bool has = live.count(id) > 0;
      if (k % 997 == 0) {
        ops.push_back({'D', 5000 + k, "missing"});  // a delete of a row that is not there
      } else if (!has) {
        ops.push_back({'I', id, name});
        live[id] = name;
      } else if ((x >> 20) % 4 == 0) {
        ops.push_back({'D', id, live[id]});
        live.erase(id);
      } else {
        ops.push_back({pk ? 'U' : 'I', id, name});
        if (!pk) ops.push_back({'D', id, live[id]});
        live[id] = name;
      }
    }
    Changes(ops, 100);
    // A spill folder of a process that is gone is removed; one of a live process stays.
    const std::string dead = spill_dir.path() + "/binlake-spill-999999999-AbCdEf";
    const std::string alive =
        spill_dir.path() + "/binlake-spill-" + std::to_string(::getpid()) + "-AbCdEf";
    fs::create_directories(dead + "/x");
    fs::create_directories(alive);
    auto a = ApplyFiles(in_memory, Files());
    ASSERT_OK(a.status());
    auto b = ApplyFiles(small, Files());
    ASSERT_OK(b.status());
    EXPECT_EQ(SortedRows(memory.path() + "/db/t"), SortedRows(spilled.path() + "/db/t"));
    EXPECT_EQ(Read(memory.path())->num_rows(), static_cast<int64_t>(live.size()));
    std::sort(memory_warnings.begin(), memory_warnings.end());
    std::sort(warnings_.begin(), warnings_.end());
    EXPECT_EQ(warnings_, memory_warnings);
    EXPECT_EQ(warnings_.size(), 9u);
    // Parts: several files per bucket, the spill folder left empty.
    EXPECT_EQ(a->files_added, 4);
    EXPECT_GT(b->files_added, 8);
    EXPECT_EQ(b->files_removed, a->files_removed);
    EXPECT_FALSE(fs::exists(dead));
    ASSERT_TRUE(fs::exists(alive));
    fs::remove(alive);
    EXPECT_TRUE(fs::is_empty(spill_dir.path()));
    // A small change file after it puts each changed bucket back in one file.
    Changes({{pk ? 'U' : 'I', 1, "one"}}, 200);
    auto c = ApplyFiles(small, Files());
    ASSERT_OK(c.status());
    ASSERT_OK(ApplyFiles(in_memory, Files()).status());
    EXPECT_EQ(c->files_added, 1);
    EXPECT_EQ(SortedRows(memory.path() + "/db/t"), SortedRows(spilled.path() + "/db/t"));
  }
  std::shared_ptr<arrow::Table> Read(const std::string& lake) {
    return ReadLakeTable(lake + "/db/t").value();
  }
};

TEST_F(SpillTest, ChangeFileBiggerThanTheBudgetMergesInPartsWithPrimaryKey) { Run(true); }
TEST_F(SpillTest, ChangeFileBiggerThanTheBudgetMergesInPartsWithoutPrimaryKey) { Run(false); }

TEST_F(ApplyTest, HeaderOpAndTimestampColumns) {
  csv_.header = true;
  csv_.include_op_for_full_load = true;
  csv_.timestamp_column = "ts";
  csv_.null_value = "NULL";
  Stage();
  Change('U', 3, "", 100);  // the empty string, not NULL
  auto s = ApplyFiles(Options(), Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(Read()->num_rows(), 40);
  auto names = Names();
  EXPECT_EQ(names[3], "");
  EXPECT_EQ(names[4], "n");
}

TEST_F(ApplyTest, PartialFileRefusedByItsManifest) {
  Stage();
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  Change('U', 3, "x", 100);
  const std::string change = Files()[0];
  std::ofstream(change, std::ios::app) << "U,5,1.00,2024-01-01 00:00:00,1,00,x\n";
  auto s = ApplyFiles(Options(), {change});
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find("the file is partial or altered"), std::string::npos)
      << s.status().message();
}

TEST_F(ApplyTest, BadRecordsNameTheFileAndLine) {
  Stage();
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  Change('U', 3, "x", 100);
  const std::string change = Files()[0];
  std::ofstream(change, std::ios::app) << "U,5,1.00,2024-01-01 00:00:00,1,00,x\nX,1,2,3,4,5,6\n";
  // The manifest describes the bad file (else the size/sha256 check stops it first).
  const std::string name = fs::path(change).filename().string();
  auto m = staging::ReadManifest(stage_.path(), "db", "t", name);
  ASSERT_OK(m.status());
  std::ifstream in(change, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  staging::Sha256 sha;
  sha.Update(bytes);
  m->bytes = bytes.size();
  m->sha256 = sha.HexDigest();
  std::ofstream(stage_.path() + "/_binlake/files/db/t/" + name + ".json", std::ios::trunc)
      << staging::ManifestToJson(*m);
  auto s = ApplyFiles(Options(), {change});
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
  EXPECT_NE(s.status().message().find(change + ":3: the Op field is not I, U or D"),
            std::string::npos)
      << s.status().message();
}

// MariaDB's information_schema spells 4-byte characters in ENUM/SET names as '?', so the first
// TABLE_MAP registers a second schema version that differs only there: its change files apply.
// A widened column moves the table to the new version; a narrowing is refused.
TEST(ApplySchemaVersions, OnlyEnumNamesDifferAppliesOtherChangesRefused) {
  TempDir stage, lake;
  auto st = staging::Staging::Open(stage.path(), staging::CsvOptions{}, staging::FlushPolicy{});
  ASSERT_OK(st.status());
  staging::TableSchema listed;
  listed.schema = "db";
  listed.table = "e";
  listed.columns = {Col("id", "int(11)", 0), Col("size", "enum('S','?')")};
  listed.columns[0].binlog_type = binlog::kTypeLong;
  listed.columns[1].binlog_type = binlog::kTypeEnum;
  listed.columns[1].binlog_meta = 1;
  listed.columns[1].enum_values = {"S", "?"};
  ASSERT_OK((*st)->RegisterSchema(listed, Pos(4)).status());
  auto w = (*st)->BeginLoad("db", "e", Pos(4));
  ASSERT_OK(w.status());
  ASSERT_OK((*w)->AppendRow(Cells({"1", "S"})));
  ASSERT_OK((*w)->Finish());
  ASSERT_OK((*st)->FinishFullLoad(Pos(4)));

  staging::TableSchema mapped = listed;  // as SchemaFromTableMap spells it
  mapped.columns[0].mysql_type = "int";
  mapped.columns[1].mysql_type = "enum('S','😀')";
  mapped.columns[1].enum_values = {"S", "😀"};
  mapped.columns[1].nullable = false;
  auto v2 = (*st)->RegisterSchema(mapped, Pos(100));
  ASSERT_OK(v2.status());
  EXPECT_EQ(*v2, 2);
  ASSERT_OK((*st)->BeginTransaction(Pos(100), 1700000000000000ULL));
  ASSERT_OK((*st)->Append("db", "e", 'I', Cells({"2", "😀"})));
  ASSERT_OK((*st)->Commit(Pos(101)));
  ASSERT_OK((*st)->Flush(100));

  ApplyOptions o;
  o.lake = lake.path();
  o.buckets = 2;
  auto files = [&] {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(stage.path() + "/db/e")) {
      if (e.path().extension() == ".csv") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  ASSERT_OK(ApplyFiles(o, files()).status());
  auto t = ReadLakeTable(lake.path() + "/db/e");
  ASSERT_OK(t.status());
  EXPECT_EQ((*t)->num_rows(), 2);

  staging::TableSchema wider = mapped;  // INT -> BIGINT: another lake type
  wider.columns[0].mysql_type = "bigint";
  wider.columns[0].binlog_type = binlog::kTypeLongLong;
  ASSERT_OK((*st)->RegisterSchema(wider, Pos(200)).status());
  ASSERT_OK((*st)->BeginTransaction(Pos(200), 1700000001000000ULL));
  ASSERT_OK((*st)->Append("db", "e", 'I', Cells({"3", "S"})));
  ASSERT_OK((*st)->Commit(Pos(201)));
  ASSERT_OK((*st)->Flush(200));
  ASSERT_OK(ApplyFiles(o, files()).status());  // a widening: the table follows
  t = ReadLakeTable(lake.path() + "/db/e");
  ASSERT_OK(t.status());
  EXPECT_EQ((*t)->num_rows(), 3);
  EXPECT_EQ((*t)->schema()->field(0)->type()->id(), arrow::Type::INT64);

  staging::TableSchema narrower = wider;  // ENUM -> DATE: not a widening
  narrower.columns[1].mysql_type = "date";
  narrower.columns[1].binlog_type = binlog::kTypeDate;
  narrower.columns[1].binlog_meta = 0;
  narrower.columns[1].enum_values.clear();
  ASSERT_OK((*st)->RegisterSchema(narrower, Pos(300)).status());
  ASSERT_OK((*st)->BeginTransaction(Pos(300), 1700000002000000ULL));
  ASSERT_OK((*st)->Append("db", "e", 'I', Cells({"4", "2024-01-01"})));
  ASSERT_OK((*st)->Commit(Pos(301)));
  ASSERT_OK((*st)->Flush(300));
  auto refused = ApplyFiles(o, files());
  EXPECT_EQ(refused.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(refused.status().message().find("column size changes from string to date, which is "
                                            "not a widening the lake can follow"),
            std::string::npos)
      << refused.status().message();
  EXPECT_EQ(ReadLakeTable(lake.path() + "/db/e").value()->num_rows(), 3);
}

TEST(DeltaLogTest, CommitIsCreateIfAbsent) {
  TempDir d;
  ASSERT_OK(TryCommitDelta(d.path(), 0, {R"({"commitInfo":{}})"}).status());
  auto again = TryCommitDelta(d.path(), 0, {R"({"commitInfo":{"x":1}})"});
  ASSERT_OK(again.status());
  EXPECT_FALSE(*again);
  EXPECT_EQ(ReadDeltaLog(d.path()).value().version, 0);
}

}  // namespace
}  // namespace binlake::lake
