// Delta log checkpoints: written every N versions by the apply, read back to the same snapshot,
// and a missing, stale or corrupt `_last_checkpoint` or checkpoint never changes what is read.
#include <arrow/io/file.h>
#include <gtest/gtest.h>
#include <parquet/arrow/writer.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lake/delta_log.h"
#include "lake/lake.h"
#include "lake/lake_internal.h"
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

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  out << text;
}

void ExpectSame(const DeltaSnapshot& a, const DeltaSnapshot& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.table_id, b.table_id);
  EXPECT_EQ(a.schema_string, b.schema_string);
  EXPECT_EQ(a.configuration, b.configuration);
  EXPECT_EQ(a.min_reader, b.min_reader);
  EXPECT_EQ(a.min_writer, b.min_writer);
  EXPECT_EQ(a.files, b.files);
  EXPECT_EQ(a.txns, b.txns);
}

// A table of 250 commits: a LOAD (version 0), then 250 one-row change files (1..250). Built
// once; each test gets a copy of the lake.
class CheckpointTest : public ::testing::Test {
 protected:
  static constexpr int kChanges = 250;

  static void SetUpTestSuite() {
    stage_ = new TempDir;
    pristine_ = new TempDir;
    auto s = staging::Staging::Open(stage_->path(), staging::CsvOptions{}, staging::FlushPolicy{});
    ASSERT_OK(s.status());
    auto st = std::move(*s);
    staging::TableSchema schema;
    schema.schema = "db";
    schema.table = "t";
    schema.columns = {Col("id", "int", 0), Col("at", "datetime(6)"), Col("name", "varchar(20)")};
    ASSERT_OK(st->RegisterSchema(schema, Pos(4)).status());
    auto w = st->BeginLoad("db", "t", Pos(4));
    ASSERT_OK(w.status());
    for (int i = 1; i <= 10; i++) {
      const std::string id = std::to_string(i);
      std::vector<staging::Cell> cells = {
          {false, id}, {false, "2024-01-01 00:00:00.000000"}, {false, "n"}};
      ASSERT_OK((*w)->AppendRow(cells));
    }
    ASSERT_OK((*w)->Finish());
    ASSERT_OK(st->FinishFullLoad(Pos(4)));
    for (int i = 1; i <= kChanges; i++) {
      const uint64_t p = 100 + 10 * static_cast<uint64_t>(i);
      const std::string id = std::to_string(i % 30 + 1), name = "v" + std::to_string(i);
      std::vector<staging::Cell> cells = {
          {false, id}, {false, "2024-01-01 00:00:00.000000"}, {false, name}};
      ASSERT_OK(st->BeginTransaction(Pos(p), 1700000000000000ULL + p));
      ASSERT_OK(st->Append("db", "t", i % 7 == 0 ? 'D' : 'U', cells));
      ASSERT_OK(st->Commit(Pos(p + 1)));
      ASSERT_OK(st->Flush(p));
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(stage_->path() + "/db/t")) {
      if (e.path().extension() == ".csv") files.push_back(e.path().string());
    }
    ASSERT_EQ(files.size(), static_cast<size_t>(kChanges + 1));
    auto applied = ApplyFiles(Options(pristine_->path()), files);
    ASSERT_OK(applied.status());
    ASSERT_EQ(applied->commits, kChanges + 1);
    files_ = new std::vector<std::string>(std::move(files));
  }
  static void TearDownTestSuite() {
    delete stage_;
    delete pristine_;
    delete files_;
  }

  void SetUp() override {
    ASSERT_NE(files_, nullptr) << "the 250-commit table could not be built";
    fs::copy(pristine_->path(), lake_.path(), fs::copy_options::recursive);
  }

  static ApplyOptions Options(const std::string& lake) {
    ApplyOptions o;
    o.lake = lake;
    o.buckets = 2;
    o.warn = [](const std::string&) {};
    return o;
  }
  std::string Table() const { return lake_.path() + "/db/t"; }
  std::string Log() const { return Table() + "/_delta_log"; }

  // The snapshot replayed from the JSON commits alone (a copy of the log without checkpoints).
  DeltaLogState JsonOnly() {
    ReplayOptions o;
    o.full = true;
    o.checkpoints = false;
    auto s = ReplayDeltaLog(Table(), o);
    EXPECT_OK(s.status());
    return s.ok() ? *s : DeltaLogState{};
  }

  static TempDir* stage_;
  static TempDir* pristine_;
  static std::vector<std::string>* files_;
  TempDir lake_;
};

TempDir* CheckpointTest::stage_ = nullptr;
TempDir* CheckpointTest::pristine_ = nullptr;
std::vector<std::string>* CheckpointTest::files_ = nullptr;

TEST_F(CheckpointTest, EveryHundredVersionsAndTheSameSnapshot) {
  EXPECT_TRUE(fs::exists(Log() + "/" + CheckpointName(100)));
  EXPECT_TRUE(fs::exists(Log() + "/" + CheckpointName(200)));
  EXPECT_FALSE(fs::exists(Log() + "/" + CheckpointName(150)));
  EXPECT_FALSE(fs::exists(Log() + "/" + CheckpointName(250)));
  auto hint = ReadLastCheckpoint(Table());
  ASSERT_TRUE(hint.has_value());
  EXPECT_EQ(hint->version, 200);

  auto snap = ReadDeltaLog(Table());
  ASSERT_OK(snap.status());
  EXPECT_EQ(snap->version, kChanges);
  EXPECT_EQ(snap->checkpoint_version, 200);
  EXPECT_EQ(snap->txns.at("binlake:db.t"), kChanges);  // the exactly-once record survives
  const DeltaLogState json_only = JsonOnly();
  EXPECT_EQ(json_only.snap.checkpoint_version, -1);
  ExpectSame(*snap, json_only.snap);

  // The full state from the checkpoint: every action body as the JSON log has it.
  ReplayOptions full;
  full.full = true;
  auto from_cp = ReplayDeltaLog(Table(), full);
  ASSERT_OK(from_cp.status());
  EXPECT_EQ(from_cp->adds, json_only.adds);
  EXPECT_EQ(from_cp->txns, json_only.txns);
  EXPECT_EQ(from_cp->metadata, json_only.metadata);
  EXPECT_EQ(from_cp->protocol, json_only.protocol);
  EXPECT_EQ(from_cp->tombstones, json_only.tombstones);  // all recent, none expired

  // The checkpoint at 100 alone gives version 100 exactly.
  size_t adds = 0;
  ASSERT_OK(
      ReadCheckpointActions(Log() + "/" + CheckpointName(100), true, [&](const nlohmann::json& a) {
        adds += a.contains("add");
        return Status::Ok();
      }));
  ReplayOptions up;
  up.up_to = 100;
  up.checkpoints = false;
  auto json100 = ReplayDeltaLog(Table(), up);
  ASSERT_OK(json100.status());
  EXPECT_EQ(adds, json100->snap.files.size());

  // Rows read through the checkpoint; re-applying everything is still a no-op.
  auto rows = ReadLakeTable(Table());
  ASSERT_OK(rows.status());
  EXPECT_GT((*rows)->num_rows(), 0);
  auto again = ApplyFiles(Options(lake_.path()), *files_);
  ASSERT_OK(again.status());
  EXPECT_EQ(again->commits, 0);
}

TEST_F(CheckpointTest, MissingStaleOrCorruptLastCheckpoint) {
  const DeltaSnapshot want = JsonOnly().snap;
  auto read = [&](int64_t from) {
    auto s = ReadDeltaLog(Table());
    ASSERT_OK(s.status());
    ExpectSame(*s, want);
    EXPECT_EQ(s->checkpoint_version, from);
  };
  fs::remove(Log() + "/_last_checkpoint");
  read(200);  // the listing finds the newest checkpoint
  WriteText(Log() + "/_last_checkpoint", "{\"vers");
  read(200);
  WriteText(Log() + "/_last_checkpoint", R"({"version":100,"size":3})");
  read(100);  // stale (a crash between the checkpoint and the pointer): more JSON to replay
  WriteText(Log() + "/_last_checkpoint", R"({"version":150,"size":3})");
  read(200);  // names a checkpoint that is not there
  // A torn checkpoint file: the next older one, then the JSON log.
  WriteText(Log() + "/_last_checkpoint", R"({"version":200,"size":3})");
  WriteText(Log() + "/" + CheckpointName(200), "PAR1 torn");
  read(100);
  WriteText(Log() + "/" + CheckpointName(100), "");
  read(-1);
  // Leftovers of a crashed checkpoint writer are ignored.
  WriteText(Log() + "/." + CheckpointName(250) + ".x.tmp", "partial");
  read(-1);
  // The next checkpoint repairs it all.
  ASSERT_OK(WriteDeltaCheckpoint(Table(), kChanges));
  read(kChanges);
}

TEST_F(CheckpointTest, ExpiredTombstonesAreLeftOut) {
  ReplayOptions full;
  full.full = true;
  auto before = ReplayDeltaLog(Table(), full);
  ASSERT_OK(before.status());
  EXPECT_FALSE(before->tombstones.empty());
  nlohmann::json meta = before->metadata;
  meta["configuration"]["delta.deletedFileRetentionDuration"] = "interval 0 seconds";
  auto won = TryCommitDelta(Table(), kChanges + 1, {nlohmann::json{{"metaData", meta}}.dump()});
  ASSERT_OK(won.status());
  ASSERT_TRUE(*won);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_OK(WriteDeltaCheckpoint(Table(), kChanges + 1));
  auto after = ReplayDeltaLog(Table(), full);
  ASSERT_OK(after.status());
  EXPECT_EQ(after->snap.checkpoint_version, kChanges + 1);
  EXPECT_TRUE(after->tombstones.empty());
  EXPECT_EQ(after->adds, before->adds);
  EXPECT_EQ(after->txns, before->txns);
}

TEST_F(CheckpointTest, LogCleanupKeepsTheTableReadable) {
  const DeltaSnapshot want = JsonOnly().snap;
  CheckpointOptions co;
  co.interval = 50;
  co.log_retention_versions = 40;
  ASSERT_OK(MaybeCheckpoint(Table(), kChanges, co));  // 250: checkpoint, keep from 200 on
  EXPECT_FALSE(fs::exists(Log() + "/" + DeltaLogName(199)));
  EXPECT_FALSE(fs::exists(Log() + "/" + CheckpointName(100)));
  EXPECT_TRUE(fs::exists(Log() + "/" + DeltaLogName(200)));
  EXPECT_TRUE(fs::exists(Log() + "/" + CheckpointName(200)));
  auto s = ReadDeltaLog(Table());
  ASSERT_OK(s.status());
  ExpectSame(*s, want);
  fs::remove(Log() + "/_last_checkpoint");
  s = ReadDeltaLog(Table());
  ASSERT_OK(s.status());
  ExpectSame(*s, want);
  // Without any readable checkpoint the cleaned log cannot be replayed: an error, never an
  // empty or older table.
  WriteText(Log() + "/" + CheckpointName(250), "x");
  WriteText(Log() + "/" + CheckpointName(200), "x");
  EXPECT_FALSE(ReadDeltaLog(Table()).ok());
}

TEST_F(CheckpointTest, MultiPartCheckpointsAreRefusedClearly) {
  // Another writer's multi-part checkpoint at 250, and a log cleaned up before it.
  WriteText(Log() + "/00000000000000000250.checkpoint.0000000001.0000000002.parquet", "x");
  WriteText(Log() + "/00000000000000000250.checkpoint.0000000002.0000000002.parquet", "x");
  WriteText(Log() + "/_last_checkpoint", R"({"version":250,"size":40,"parts":2})");
  // The JSON log is whole: it is read without the multi-part checkpoint.
  auto s = ReadDeltaLog(Table());
  ASSERT_OK(s.status());
  EXPECT_EQ(s->version, kChanges);
  EXPECT_EQ(s->checkpoint_version, 200);
  for (int v = 0; v <= kChanges; v++) fs::remove(Log() + "/" + DeltaLogName(v));
  s = ReadDeltaLog(Table());
  EXPECT_EQ(s.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(s.status().message().find("multi-part"), std::string::npos) << s.status().message();
}

// A binlake table checkpointed by delta-rs (tests/data/lake/make_deltars_checkpoint.py): the
// checkpoint gives the snapshot the JSON log gives, action for action.
TEST(CheckpointReadTest, ReadsADeltaRsCheckpoint) {
  const std::string table = std::string(BINLAKE_SOURCE_DIR) + "/tests/data/lake/deltars_checkpoint";
  auto snap = ReadDeltaLog(table);
  ASSERT_OK(snap.status());
  EXPECT_EQ(snap->version, 5);
  EXPECT_EQ(snap->checkpoint_version, 5);
  EXPECT_EQ(snap->files.size(), 2u);
  EXPECT_EQ(snap->txns.at("binlake:db.t"), 5);
  ReplayOptions o;
  o.full = true;
  o.checkpoints = false;
  auto json_only = ReplayDeltaLog(table, o);
  ASSERT_OK(json_only.status());
  ExpectSame(*snap, json_only->snap);

  ReplayOptions f;
  f.full = true;
  auto from_cp = ReplayDeltaLog(table, f);
  ASSERT_OK(from_cp.status());
  ASSERT_EQ(from_cp->adds.size(), json_only->adds.size());
  for (const auto& [path, add] : json_only->adds) {
    const auto& cp = from_cp->adds.at(path);
    for (const char* k :
         {"path", "size", "modificationTime", "dataChange", "stats", "partitionValues"}) {
      EXPECT_EQ(cp.at(k), add.at(k)) << path << " " << k;
    }
  }
  for (const char* k : {"id", "schemaString", "configuration", "format", "partitionColumns"}) {
    EXPECT_EQ(from_cp->metadata.at(k), json_only->metadata.at(k)) << k;
  }
  EXPECT_EQ(from_cp->protocol, json_only->protocol);
  EXPECT_EQ(from_cp->txns.at("binlake:db.t").at("version"), 5);
  ASSERT_EQ(from_cp->tombstones.size(), json_only->tombstones.size());
  for (const auto& [path, rm] : json_only->tombstones) EXPECT_TRUE(from_cp->tombstones.count(path));
}

TEST(CheckpointReadTest, SidecarsAreRefused) {
  TempDir d;
  const auto type = arrow::struct_({arrow::field("path", arrow::utf8())});
  auto b = arrow::MakeBuilder(type).ValueOrDie();
  auto* sb = static_cast<arrow::StructBuilder*>(b.get());
  ASSERT_TRUE(sb->Append().ok());
  ASSERT_TRUE(static_cast<arrow::StringBuilder*>(sb->field_builder(0))->Append("s.parquet").ok());
  auto table = arrow::Table::Make(arrow::schema({arrow::field("sidecar", type)}),
                                  {b->Finish().ValueOrDie()});
  const std::string path = d.path() + "/" + CheckpointName(3);
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  ASSERT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1024).ok());
  ASSERT_TRUE(out->Close().ok());
  Status st = ReadCheckpointActions(path, false, [](const nlohmann::json&) {
    ADD_FAILURE() << "no action may come out of a checkpoint with sidecars";
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kNotSupported);
  EXPECT_NE(st.message().find("sidecar"), std::string::npos);
}

TEST(CheckpointReadTest, UnknownReaderFeaturesAreRefused) {
  TempDir d;
  ASSERT_OK(TryCommitDelta(
                d.path(), 0,
                {R"({"protocol":{"minReaderVersion":3,"minWriterVersion":7,)"
                 R"("readerFeatures":["deletionVectors"],"writerFeatures":["deletionVectors"]}})",
                 R"({"metaData":{"id":"x","format":{"provider":"parquet","options":{}},)"
                 R"("schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],)"
                 R"("configuration":{}}})"})
                .status());
  auto s = ReadDeltaLog(d.path());
  EXPECT_EQ(s.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(s.status().message().find("deletionVectors"), std::string::npos);
}

}  // namespace
}  // namespace binlake::lake
