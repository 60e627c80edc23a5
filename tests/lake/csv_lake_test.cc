// The CSV lake: the same files, buckets and merge as the Delta apply, plain CSV files, and a
// state file that makes each change file apply once and a crash leave the old or the new table.
#include "lake/csv_lake.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <list>
#include <map>
#include <set>
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
using binlake::testing::Col;
using binlake::testing::Pos;
using binlake::testing::TempDir;

// One row: id, name (nullopt: NULL), note.
struct R {
  int id;
  std::optional<std::string> name;
  std::string note = "x";
};

class CsvLakeTest : public ::testing::Test {
 protected:
  void Stage(bool pk = true) {
    auto s = staging::Staging::Open(stage_.path(), staging::CsvOptions{}, staging::FlushPolicy{});
    ASSERT_OK(s.status());
    st_ = std::move(*s);
    staging::TableSchema schema;
    schema.schema = "db";
    schema.table = "t";
    schema.columns = {Col("id", "int", pk ? 0 : -1), Col("name", "varchar(20)"),
                      Col("note", "text")};
    ASSERT_OK(st_->RegisterSchema(schema, Pos(4)).status());
    auto w = st_->BeginLoad("db", "t", Pos(4));
    ASSERT_OK(w.status());
    for (int i = 1; i <= 20; i++) ASSERT_OK((*w)->AppendRow(RowCells({i, "n"})));
    ASSERT_OK((*w)->Finish());
    ASSERT_OK(st_->FinishFullLoad(Pos(4)));
    for (int i = 1; i <= 20; i++) expected_[i] = {"n", "x"};
  }
  std::vector<staging::Cell> RowCells(const R& r) {
    texts_.push_back(std::to_string(r.id));
    const std::string& id = texts_.back();
    return {{false, id},
            r.name ? staging::Cell{false, *r.name} : staging::Cell{true, {}},
            {false, r.note}};
  }
  // One change file of one transaction.
  void Change(const std::vector<std::pair<char, R>>& rows) {
    pos_ += 10;
    ASSERT_OK(st_->BeginTransaction(Pos(pos_), 1700000000000000ULL + pos_));
    for (const auto& [op, r] : rows) ASSERT_OK(st_->Append("db", "t", op, RowCells(r)));
    ASSERT_OK(st_->Commit(Pos(pos_ + 1)));
    ASSERT_OK(st_->Flush(pos_));
  }
  std::vector<std::string> Files() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(stage_.path() + "/db/t")) {
      if (e.path().extension() == ".csv") out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());  // change files first ("2023..." < "LOAD...")
    return out;
  }
  ApplyOptions Options() {
    ApplyOptions o;
    o.lake = lake_.path();
    o.format = LakeFormat::kCsv;
    o.buckets = 4;
    o.warn = [this](const std::string& m) { warnings_.push_back(m); };
    return o;
  }
  std::string Table() const { return lake_.path() + "/db/t"; }
  // id -> {name or "NULL", note}
  std::map<int, std::pair<std::string, std::string>> Rows() {
    auto t = ReadCsvLakeTable(Table(), staging::CsvOptions{});
    EXPECT_OK(t.status());
    std::map<int, std::pair<std::string, std::string>> out;
    if (!t.ok()) return out;
    EXPECT_EQ(t->columns, (std::vector<std::string>{"id", "name", "note"}));
    for (const auto& r : t->rows) {
      const int id = std::stoi(*r[0]);
      EXPECT_EQ(out.count(id), 0u) << "duplicate key " << id;
      out[id] = {r[1].value_or("NULL"), *r[2]};
    }
    return out;
  }
  // Every visible CSV file under the table (what a glob `bucket=*/*.csv` reads).
  std::set<std::string> VisibleFiles() {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(Table())) {
      const std::string n = e.path().filename().string();
      if (e.is_regular_file() && n.ends_with(".csv") && n[0] != '.') {
        out.insert(fs::relative(e.path(), Table()).string());
      }
    }
    return out;
  }
  std::set<std::string> StateFiles() {
    auto t = ReadCsvLakeTable(Table(), staging::CsvOptions{});
    EXPECT_OK(t.status());
    return t.ok() ? std::set<std::string>(t->files.begin(), t->files.end())
                  : std::set<std::string>{};
  }

  TempDir stage_, lake_;
  std::unique_ptr<staging::Staging> st_;
  std::vector<std::string> warnings_;
  std::list<std::string> texts_;  // stable storage for the cells' text
  uint64_t pos_ = 100;
  std::map<int, std::pair<std::string, std::string>> expected_;
};

TEST_F(CsvLakeTest, InsertUpdateDeleteKeyMoveOnceEach) {
  Stage();
  auto s = ApplyFiles(Options(), Files());
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 1);
  EXPECT_EQ(s->rows_written, 20u);
  EXPECT_EQ(Rows(), expected_);
  EXPECT_EQ(VisibleFiles(), StateFiles());
  for (const auto& f : StateFiles()) {
    EXPECT_TRUE(f.starts_with("bucket=000") && f.find("/part-") == 11 && f.ends_with(".csv")) << f;
  }

  Change({{'I', {21, "new, \"quoted\"", "line\nbreak"}}});
  expected_[21] = {"new, \"quoted\"", "line\nbreak"};
  Change({{'U', {3, std::nullopt}}, {'U', {4, std::string()}}});  // NULL and the empty string
  expected_[3] = {"NULL", "x"};
  expected_[4] = {"", "x"};
  Change({{'D', {5, "n"}}});
  expected_.erase(5);
  Change({{'D', {6, "n"}}, {'I', {60, "moved"}}});  // a key move: D old, I new
  expected_.erase(6);
  expected_[60] = {"moved", "x"};
  Change({{'D', {999, "n"}}});  // a delete of a missing row: a warning
  auto files = Files();
  ASSERT_EQ(files.size(), 6u);

  s = ApplyFiles(Options(), {files[0]});
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 1);
  EXPECT_EQ(s->files_added, 1);  // one bucket rewritten
  EXPECT_EQ(s->files_removed, 1);
  s = ApplyFiles(Options(), {files[4]});  // catches up 2..5 in order
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 4);
  EXPECT_EQ(Rows(), expected_);
  EXPECT_EQ(warnings_.size(), 1u);
  EXPECT_EQ(VisibleFiles(), StateFiles());  // replaced files are gone

  // Re-applying everything is a no-op.
  const auto before = StateFiles();
  s = ApplyFiles(Options(), files);
  ASSERT_OK(s.status());
  EXPECT_EQ(s->commits, 0);
  EXPECT_EQ(s->skipped, 6);
  EXPECT_EQ(StateFiles(), before);
  EXPECT_EQ(ReadCsvLakeTable(Table(), staging::CsvOptions{}).value().sequence, 5);

  // The files are plain CSV with a header row.
  std::ifstream in(Table() + "/" + *before.begin());
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "id,name,note");
}

TEST_F(CsvLakeTest, SameBucketsAsTheDeltaLake) {
  Stage();
  Change({{'I', {77, "a"}}, {'I', {78, "b"}}});
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  ApplyOptions delta = Options();
  delta.format = LakeFormat::kDelta;
  TempDir other;
  delta.lake = other.path();
  ASSERT_OK(ApplyFiles(delta, Files()).status());
  std::set<std::string> csv_buckets, delta_buckets;
  for (const auto& f : StateFiles()) csv_buckets.insert(f.substr(0, f.find('/')));
  auto snap = ReadDeltaLog(other.path() + "/db/t");
  ASSERT_OK(snap.status());
  for (const auto& [path, size] : snap->files) {
    delta_buckets.insert(path.substr(0, path.find('/')));
  }
  EXPECT_EQ(csv_buckets, delta_buckets);
}

TEST_F(CsvLakeTest, ACrashLeavesTheOldOrTheNewTable) {
  Stage();
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  // Before the state switch: a hidden new file only, which is not part of the table.
  const std::string bucket = Table() + "/" + StateFiles().begin()->substr(0, 11);
  { std::ofstream(bucket + "/.part-crashed.csv.tmp") << "id,name,note\n1,zombie,x\n"; }
  EXPECT_EQ(Rows(), expected_);
  EXPECT_EQ(VisibleFiles(), StateFiles());

  // After the switch, before the new files were renamed and the old ones deleted: the next
  // apply finishes the commit.
  Change({{'U', {1, "one"}}});
  expected_[1] = {"one", "x"};
  auto before = StateFiles();
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  auto after = StateFiles();
  std::vector<std::string> added, removed;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(added));
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(removed));
  ASSERT_EQ(added.size(), 1u);
  ASSERT_EQ(removed.size(), 1u);
  const std::string rel = added[0];
  const std::string hidden = rel.substr(0, 12) + "." + rel.substr(12) + ".tmp";
  fs::rename(Table() + "/" + rel, Table() + "/" + hidden);
  { std::ofstream(Table() + "/" + removed[0]) << "id,name,note\n1,n,x\n"; }
  ASSERT_OK(ApplyFiles(Options(), Files()).status());  // nothing to apply; the commit finishes
  EXPECT_TRUE(fs::exists(Table() + "/" + rel));
  EXPECT_FALSE(fs::exists(Table() + "/" + removed[0]));
  EXPECT_EQ(Rows(), expected_);
  EXPECT_EQ(VisibleFiles(), StateFiles());
}

TEST_F(CsvLakeTest, WholeRowIdentityWithoutPrimaryKey) {
  Stage(false);
  Change({{'I', {5, "n"}}});  // a second identical row 5
  Change({{'D', {5, "n"}}});  // removes one of the two
  ASSERT_OK(ApplyFiles(Options(), Files()).status());
  auto t = ReadCsvLakeTable(Table(), staging::CsvOptions{});
  ASSERT_OK(t.status());
  EXPECT_EQ(t->rows.size(), 20u);
  ApplyOptions strict = Options();
  strict.reject_without_primary_key = true;
  TempDir other;
  strict.lake = other.path();
  EXPECT_EQ(ApplyFiles(strict, Files()).status().code(), StatusCode::kNotSupported);
}

}  // namespace
}  // namespace binlake::lake
