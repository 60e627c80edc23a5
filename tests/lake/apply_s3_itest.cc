// The apply with staging and lake on S3 (the CTest fixture's SeaweedFS) gives the same table as
// with both on local folders, commits once per file, and re-applying changes nothing.
#include <arrow/api.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <deque>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "staging/staging.h"
#include "store/store.h"
#include "testing/staging_fixtures.h"
#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace binlake::lake {
namespace {

using binlake::testing::Col;
using binlake::testing::Pos;
using binlake::testing::TempDir;
using staging::Cell;

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : fallback;
}

class S3ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = EnvOr("BINLAKE_TEST_S3_DIR", BINLAKE_TEST_S3_DIR_DEFAULT);
    // The test server's keys, as a user would give them: a shared credentials file + profile.
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", (dir + "/credentials").c_str(), 1);
    ::setenv("AWS_PROFILE", "binlake", 1);
    stores_.s3.endpoint =
        "http://127.0.0.1:" + EnvOr("BINLAKE_TEST_S3_PORT", BINLAKE_TEST_S3_PORT_DEFAULT);
    stores_.s3.region = "us-east-1";
    std::mt19937_64 rng{std::random_device{}()};
    root_ = std::string("s3://") + BINLAKE_TEST_S3_BUCKET + "/apply" +
            std::to_string(rng() % 1000000000ULL);
  }

  staging::TableSchema Schema() {
    staging::TableSchema s;
    s.schema = "db";
    s.table = "t";
    s.columns = {Col("id", "int", 0), Col("amount", "decimal(10,2)"), Col("name", "varchar(20)")};
    return s;
  }

  // The same full load and three change files (with a key move and a delete) into `uri`.
  void Stage(const std::string& uri, const std::string& spool) {
    auto st = staging::Staging::Open(uri, stores_, csv_, staging::FlushPolicy{}, spool);
    ASSERT_OK(st.status());
    auto& s = *st;
    ASSERT_OK(s->RegisterSchema(Schema(), Pos(4)).status());
    auto w = s->BeginLoad("db", "t", Pos(4));
    ASSERT_OK(w.status());
    for (int i = 1; i <= 300; i++) ASSERT_OK((*w)->AppendRow(Row(i, "load")));
    ASSERT_OK((*w)->Finish());
    ASSERT_OK(s->FinishFullLoad(Pos(4)));
    uint64_t pos = 10;
    for (int f = 0; f < 3; f++, pos += 10) {
      ASSERT_OK(s->BeginTransaction(Pos(pos), 1700000000000000ULL + pos));
      for (int i = 1; i <= 30; i++) {
        ASSERT_OK(s->Append("db", "t", 'U', Row(i * 7 + f, "u" + std::to_string(f))));
      }
      ASSERT_OK(s->Append("db", "t", 'D', Row(200 + f, "load")));
      ASSERT_OK(s->Append("db", "t", 'I', Row(1000 + f, "new")));
      ASSERT_OK(s->Commit(Pos(pos + 1)));
      ASSERT_OK(s->Flush(pos));
    }
  }

  std::vector<Cell> Row(int id, const std::string& name) {
    texts_.push_back({std::to_string(id), std::to_string(id) + ".25", name});
    const auto& t = texts_.back();
    return {Cell{false, t[0]}, Cell{false, t[1]}, Cell{false, t[2]}};
  }

  // The staged CSV files of db.t, as URIs.
  std::vector<std::string> Files(const std::string& uri) {
    auto s = store::OpenStore(uri, stores_);
    EXPECT_OK(s.status());
    store::ListOptions lo;
    lo.prefix = "db/t/";
    auto list = (*s)->List(lo);
    EXPECT_OK(list.status());
    std::vector<std::string> out;
    for (const auto& o : *list) {
      if (o.key.ends_with(".csv")) out.push_back(uri + "/" + o.key);
    }
    return out;
  }

  ApplyOptions Options(const std::string& staging, const std::string& lake) {
    ApplyOptions o;
    o.staging = staging;
    o.lake = lake;
    o.stores = stores_;
    o.csv = csv_;
    o.buckets = 4;
    return o;
  }

  // id -> the row's cells as text (bucket files come in any order).
  std::map<std::string, std::string> Read(const std::string& lake) {
    std::map<std::string, std::string> out;
    auto root = store::OpenStore(lake, stores_);
    EXPECT_OK(root.status());
    if (!root.ok()) return out;
    auto table = LakeTableStore(std::shared_ptr<store::ObjectStore>(std::move(*root)), "db", "t");
    auto t = ReadLakeTable(*table);
    EXPECT_OK(t.status());
    if (!t.ok()) return out;
    for (int64_t r = 0; r < (*t)->num_rows(); r++) {
      std::string row;
      for (int c = 1; c < (*t)->num_columns(); c++) {
        row += (*t)->column(c)->GetScalar(r).ValueOrDie()->ToString() + "|";
      }
      out[(*t)->column(0)->GetScalar(r).ValueOrDie()->ToString()] = row;
    }
    return out;
  }

  store::StoreOptions stores_;
  staging::CsvOptions csv_;
  std::string root_;
  std::deque<std::vector<std::string>> texts_;
  TempDir local_, spool_;
};

TEST_F(S3ApplyTest, SameTableAsLocalAndExactlyOnce) {
  const std::string s3_staging = root_ + "/staging", s3_lake = root_ + "/lake";
  const std::string local_staging = local_.path() + "/staging",
                    local_lake = local_.path() + "/lake";
  Stage(s3_staging, spool_.path());
  Stage(local_staging, "");
  const auto s3_files = Files(s3_staging);
  ASSERT_EQ(s3_files.size(), 4u);  // LOAD00000001.csv and three change files

  auto s3 = ApplyFiles(Options(s3_staging, s3_lake), s3_files);
  ASSERT_OK(s3.status());
  EXPECT_EQ(s3->commits, 4);
  auto local = ApplyFiles(Options(local_staging, local_lake), Files(local_staging));
  ASSERT_OK(local.status());
  EXPECT_EQ(local->commits, 4);

  const auto a = Read(s3_lake), b = Read(local_lake);
  EXPECT_EQ(a.size(), 300u);  // 300 loaded - 3 deleted + 3 inserted
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.at("7"), "7.25|u0|");
  EXPECT_EQ(a.count("200"), 0u);
  EXPECT_EQ(a.at("1002"), "1002.25|new|");

  // Every file again: nothing is committed.
  auto again = ApplyFiles(Options(s3_staging, s3_lake), s3_files);
  ASSERT_OK(again.status());
  EXPECT_EQ(again->commits, 0);
  EXPECT_EQ(again->skipped, 4);

  // Keys relative to the staging URI work as well as full URIs.
  auto rel = ApplyFiles(Options(s3_staging, s3_lake), {"db/t/LOAD00000001.csv"});
  ASSERT_OK(rel.status());
  EXPECT_EQ(rel->commits, 0);
}

TEST_F(S3ApplyTest, ADeltaVersionIsCommittedOnce) {
  auto root = store::OpenStore(root_ + "/race", stores_);
  ASSERT_OK(root.status());
  std::shared_ptr<store::ObjectStore> shared(std::move(*root));
  auto table = LakeTableStore(shared, "db", "t");
  auto first = TryCommitDelta(*table, 0, {R"({"commitInfo":{"by":"a"}})"});
  ASSERT_OK(first.status());
  EXPECT_TRUE(*first);
  auto second = TryCommitDelta(*table, 0, {R"({"commitInfo":{"by":"b"}})"});
  ASSERT_OK(second.status());
  EXPECT_FALSE(*second);  // If-None-Match: * -> 412: the other writer's commit stands
  auto text = table->Get("_delta_log/00000000000000000000.json");
  ASSERT_OK(text.status());
  EXPECT_NE(text->find("\"a\""), std::string::npos);
}

}  // namespace
}  // namespace binlake::lake
