// Applying staged CSV files to bucketed Delta tables: LOAD rebuilds, change files merge once.
// Both stream: CSV files are parsed block by block into per-bucket Arrow builders, and a bucket's
// old rows flow through the merge row group by row group, so memory does not grow with the table.
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <parquet/arrow/reader.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <unordered_map>

#include "lake/bucket_file.h"
#include "lake/csv_lake.h"
#include "lake/lake.h"
#include "lake/lake_internal.h"
#include "lake/merge.h"
#include "lake/staged.h"
#include "staging/records.h"
#include "util/log.h"

namespace binlake::lake {
namespace {

using json = nlohmann::json;
using Fields = std::vector<std::optional<std::string_view>>;
using BatchVector = std::vector<std::shared_ptr<arrow::RecordBatch>>;

constexpr int kDefaultBuckets = 16;  // a table created by a change file
// The automatic bucket count of a full load: at most this many rows per bucket.
constexpr uint64_t kRowsPerBucket = uint64_t{512} * 1024;
constexpr int kMaxAutoBuckets = 4096;
// A full load's rows held in builders, over all buckets and threads.
constexpr int64_t kLoadBufferRows = int64_t{2} << 20;
constexpr int64_t kReadBatchRows = int64_t{64} * 1024;  // old rows per merge step

// One lake table and the staging schema version its rows follow.
struct Table {
  const StagedTable* st = nullptr;           // where its staging files are
  std::unique_ptr<store::ObjectStore> lake;  // the lake table's store
  std::string schema, table, dir;            // dir: the lake table's URI (messages)
  staging::TableSchema ts;                   // the staging schema version of the rows being read
  int schema_version = 0;
  // The lake's columns: ts's columns, then (after a DROP COLUMN with dropped_columns = "keep")
  // columns the source no longer has, NULL in every row written since.
  std::vector<std::string> names;
  std::vector<LakeType> types;
  std::shared_ptr<arrow::Schema> arrow_schema;
  std::vector<int> key;  // column indexes of the key (all columns without a primary key)
  bool has_pk = false;
  int buckets = 16;
};

Status InitTable(const ApplyOptions& o, int version, Table* t) {
  BL_ASSIGN_OR_RETURN(t->ts, StagedSchema(*t->st, version));
  t->schema_version = version;
  t->types.clear();
  t->names.clear();
  arrow::FieldVector fields;
  std::vector<std::pair<int, int>> pk;
  for (size_t i = 0; i < t->ts.columns.size(); i++) {
    const auto& c = t->ts.columns[i];
    BL_ASSIGN_OR_RETURN(auto type, MapColumn(c));
    fields.push_back(arrow::field(c.name, type.arrow, true));
    t->names.push_back(c.name);
    t->types.push_back(std::move(type));
    if (c.pk_position >= 0) pk.emplace_back(c.pk_position, static_cast<int>(i));
  }
  std::sort(pk.begin(), pk.end());
  t->key.clear();
  t->has_pk = !pk.empty();
  for (const auto& [pos, i] : pk) t->key.push_back(i);
  if (!t->has_pk) {
    if (o.reject_without_primary_key) {
      return Status::NotSupported(t->schema + "." + t->table +
                                  " has no primary key: add one, or allow whole-row identity");
    }
    for (size_t i = 0; i < t->ts.columns.size(); i++) t->key.push_back(static_cast<int>(i));
  }
  t->arrow_schema = arrow::schema(fields);
  return Status::Ok();
}

// The lake table's columns as its Delta schema names them.
struct LakeColumns {
  std::vector<std::string> names;
  std::vector<LakeType> types;
};

Result<LakeColumns> LakeColumnsOf(const DeltaSnapshot& snap, const std::string& dir) {
  const std::string& schema_string = snap.schema_string;
  auto arrow_schema = ArrowSchemaFromDelta(schema_string);
  if (!arrow_schema.ok()) return arrow_schema.status().WithContext(dir);
  const json fields = json::parse(schema_string).at("fields");
  LakeColumns out;
  for (int i = 0; i < (*arrow_schema)->num_fields(); i++) {
    const auto& field = (*arrow_schema)->field(i);
    LakeType l;
    l.arrow = field->type();
    l.delta = fields.at(static_cast<size_t>(i)).value("type", "");
    switch (l.arrow->id()) {
      case arrow::Type::DECIMAL128:
        l.kind = ValueKind::kDecimal;
        break;
      case arrow::Type::FLOAT:
        l.kind = ValueKind::kFloat;
        break;
      case arrow::Type::DOUBLE:
        l.kind = ValueKind::kDouble;
        break;
      case arrow::Type::DATE32:
        l.kind = ValueKind::kDate;
        break;
      case arrow::Type::TIMESTAMP:
        l.kind = static_cast<const arrow::TimestampType&>(*l.arrow).timezone().empty()
                     ? ValueKind::kTimestampNtz
                     : ValueKind::kTimestamp;
        break;
      case arrow::Type::STRING:
        l.kind = ValueKind::kString;
        break;
      case arrow::Type::BINARY:
        l.kind = ValueKind::kBinary;
        break;
      default:
        l.kind = ValueKind::kInt;
    }
    out.names.push_back(field->name());
    out.types.push_back(std::move(l));
  }
  return out;
}

std::string SparkSchema(const Table& t) {
  json fields = json::array();
  for (size_t i = 0; i < t.types.size(); i++) {
    fields.push_back({{"name", t.names[i]},
                      {"type", t.types[i].delta},
                      {"nullable", true},
                      {"metadata", json::object()}});
  }
  return json{{"type", "struct"}, {"fields", fields}}.dump();
}

bool HasNtz(const Table& t) {
  return std::any_of(t.types.begin(), t.types.end(),
                     [](const LakeType& l) { return l.kind == ValueKind::kTimestampNtz; });
}

std::string RemoveAction(const std::string& path, int64_t size) {
  return json{{"remove",
               {{"path", path},
                {"deletionTimestamp", NowMillis()},
                {"dataChange", true},
                {"extendedFileMetadata", true},
                {"partitionValues", json::object()},
                {"size", size}}}}
      .dump();
}

std::string AppId(const Table& t) { return "binlake:" + t.schema + "." + t.table; }

std::string TxnAction(const Table& t, int64_t version) {
  return json{{"txn", {{"appId", AppId(t)}, {"version", version}, {"lastUpdated", NowMillis()}}}}
      .dump();
}

std::string CommitInfo(const std::string& op) {
  return json{{"commitInfo",
               {{"timestamp", NowMillis()}, {"operation", op}, {"engineInfo", "binlake/0.1.0"}}}}
      .dump();
}

// protocol + metaData for a new table or a rebuilt one.
void TableHeader(const Table& t, const DeltaSnapshot& snap, const std::string& load_id,
                 std::vector<std::string>* actions) {
  json protocol = {{"minReaderVersion", 1}, {"minWriterVersion", 2}};
  if (HasNtz(t)) {
    protocol = {{"minReaderVersion", 3},
                {"minWriterVersion", 7},
                {"readerFeatures", {"timestampNtz"}},
                {"writerFeatures", {"timestampNtz"}}};
  }
  actions->push_back(json{{"protocol", protocol}}.dump());
  json config = {{"binlake.buckets", std::to_string(t.buckets)},
                 {"binlake.schemaVersion", std::to_string(t.schema_version)}};
  if (!load_id.empty()) config["binlake.load"] = load_id;
  actions->push_back(json{{"metaData",
                           {{"id", snap.table_id.empty() ? NewUuid() : snap.table_id},
                            {"format", {{"provider", "parquet"}, {"options", json::object()}}},
                            {"schemaString", SparkSchema(t)},
                            {"partitionColumns", json::array()},
                            {"configuration", config},
                            {"createdTime", NowMillis()}}}}
                         .dump());
}

// The smallest power of two >= 16 that keeps a full load at most kRowsPerBucket rows per bucket.
int AutoBuckets(uint64_t rows) {
  int b = kDefaultBuckets;
  while (b < kMaxAutoBuckets && rows > static_cast<uint64_t>(b) * kRowsPerBucket) b *= 2;
  return b;
}

int Threads(const ApplyOptions& o) {
  if (o.threads > 0) return o.threads;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
}

// Runs fn(0..n-1) on up to `threads` threads; the first error by index (the rest are skipped
// once one failed).
Status ParallelFor(int n, int threads, const std::function<Status(int)>& fn) {
  std::vector<Status> status(static_cast<size_t>(n));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  auto work = [&] {
    for (int i = next++; i < n; i = next++) {
      if (failed) break;
      status[i] = fn(i);
      if (!status[i].ok()) failed = true;
    }
  };
  std::vector<std::thread> pool;
  for (int k = 1; k < std::min(threads, n); k++) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  for (auto& s : status) {
    if (!s.ok()) return std::move(s);
  }
  return Status::Ok();
}

// Where the table's columns start in a staging record: [Op,][timestamp,]columns.
struct Layout {
  bool has_op = false;
  size_t lead = 0;
  size_t fields = 0;
};

Layout RecordLayout(const ApplyOptions& o, const Table& t, bool load) {
  Layout l;
  l.has_op = !load || o.csv.include_op_for_full_load;
  l.lead = (l.has_op ? 1 : 0) + (o.csv.timestamp_column.empty() ? 0 : 1);
  l.fields = l.lead + t.ts.columns.size();
  return l;
}

// Rows of a staging CSV appended to one Arrow builder set per bucket.
class BucketBuilders {
 public:
  BucketBuilders(const Table& t, const Layout& layout) : t_(t), layout_(layout) {
    builders_.resize(static_cast<size_t>(t.buckets));
    rows_.assign(static_cast<size_t>(t.buckets), 0);
  }

  // The bucket of a record: BucketOf the key cells' canonical text.
  int BucketOfRecord(const Fields& f) {
    key_.clear();
    for (int i : t_.key) {
      const auto& cell = f[layout_.lead + static_cast<size_t>(i)];
      key_.emplace_back(cell ? std::string_view(*cell) : kNullKeyText);
    }
    return BucketOf(key_, t_.buckets);
  }

  Status Append(int bucket, const Fields& f) {
    auto& b = builders_[bucket];
    if (b.empty()) {
      for (size_t c = 0; c < t_.ts.columns.size(); c++) {
        const LakeType& type = t_.types[c];
        auto made = arrow::MakeBuilder(type.arrow, LakePool());
        if (!made.ok()) return Status::Internal(made.status().ToString());
        b.push_back(std::move(*made));
      }
    }
    for (int i : t_.key) {  // MySQL keys are NOT NULL: a NULL is a damaged file
      const auto& col = t_.ts.columns[static_cast<size_t>(i)];
      if (col.pk_position >= 0 && !f[layout_.lead + static_cast<size_t>(i)]) {
        return Status::Corruption("column " + col.name +
                                  ": NULL in the primary key; the file is damaged: restore it "
                                  "or re-capture the table");
      }
    }
    for (size_t c = 0; c < t_.ts.columns.size(); c++) {
      Status st = AppendValue(t_.types[c], f[layout_.lead + c], b[c].get());
      if (!st.ok()) return st.WithContext("column " + t_.ts.columns[c].name);
    }
    rows_[bucket]++;
    return Status::Ok();
  }

  int64_t rows(int bucket) const { return rows_[bucket]; }

  // The bucket's rows so far as one batch; the builders start over.
  Result<std::shared_ptr<arrow::RecordBatch>> Flush(int bucket) {
    arrow::ArrayVector arrays;
    for (auto& b : builders_[bucket]) {
      std::shared_ptr<arrow::Array> a;
      auto st = b->Finish(&a);
      if (!st.ok()) return Status::Internal("arrow: " + st.ToString());
      arrays.push_back(std::move(a));
    }
    const int64_t n = rows_[bucket];
    rows_[bucket] = 0;
    for (size_t c = arrays.size(); c < t_.types.size(); c++) {  // kept dropped columns
      auto nulls = arrow::MakeArrayOfNull(t_.types[c].arrow, n, LakePool());
      if (!nulls.ok()) return Status::Internal("arrow: " + nulls.status().ToString());
      arrays.push_back(std::move(*nulls));
    }
    return arrow::RecordBatch::Make(t_.arrow_schema, n, std::move(arrays));
  }

 private:
  const Table& t_;
  Layout layout_;
  std::vector<std::vector<std::unique_ptr<arrow::ArrayBuilder>>> builders_;
  std::vector<int64_t> rows_;
  std::vector<std::string_view> key_;
};

// The record's Op, checked; `I` when the file has no Op column.
Result<char> RecordOp(const Layout& l, const Fields& f) {
  if (!l.has_op) return 'I';
  if (!f[0] || f[0]->size() != 1 || std::string_view("IUD").find((*f[0])[0]) == std::string::npos) {
    return Status::Corruption(
        "the Op field is not I, U or D; the file is damaged: restore it or "
        "re-capture the table");
  }
  return (*f[0])[0];
}

// A bucket's changes in file order.
struct BucketChanges {
  std::shared_ptr<arrow::RecordBatch> rows;
  std::vector<char> ops;
  std::vector<int64_t> order;  // each row's place among all the file's records
};

// Reads change records block by block into per-bucket Arrow batches; `path` names the file in
// errors, `header`: its first line is a header.
Result<std::map<int, BucketChanges>> ReadChangeBlocks(const ApplyOptions& o, const Table& t,
                                                      staging::CsvBlockReader* blocks,
                                                      const std::string& path, bool header) {
  const Layout layout = RecordLayout(o, t, false);
  BucketBuilders builders(t, layout);
  std::map<int, BucketChanges> out;
  std::string block;
  uint64_t first_line = 0;
  Fields fields;
  int64_t records = 0;
  while (true) {
    BL_ASSIGN_OR_RETURN(bool more, blocks->Next(&block, &first_line));
    if (!more) break;
    staging::CsvReader reader(block, o.csv, layout.fields, first_line);
    while (reader.NextViews(&fields)) {
      if (header && reader.line() == 1) continue;
      auto where = [&] { return path + ":" + std::to_string(reader.line()); };
      auto op = RecordOp(layout, fields);
      if (!op.ok()) return op.status().WithContext(where());
      const int b = builders.BucketOfRecord(fields);
      Status st = builders.Append(b, fields);
      if (!st.ok()) return st.WithContext(where());
      out[b].ops.push_back(*op);
      out[b].order.push_back(records++);
    }
    if (!reader.status().ok()) return reader.status().WithContext(path);
  }
  for (auto& [b, c] : out) {
    BL_ASSIGN_OR_RETURN(c.rows, builders.Flush(b));
  }
  return out;
}

// Reads a change file block by block into per-bucket Arrow batches.
Result<std::map<int, BucketChanges>> ReadChanges(const ApplyOptions& o, const Table& t,
                                                 const std::string& name) {
  BL_ASSIGN_OR_RETURN(auto blocks, OpenStagedCsv(*t.st, name));
  return ReadChangeBlocks(o, t, blocks.get(), t.st->Where(name), o.csv.header);
}

// ---- Memory (docs/lake.md "Large transactions")

// What the process holds besides the merge's data: code, Arrow's pools, the Delta snapshot.
constexpr int64_t kMemoryReserve = int64_t{48} << 20;
// Spill files written at once: their write buffers share this much.
constexpr int64_t kSpillBufferBytes = int64_t{8} << 20;
// Block reads of a spilled part (a staged file is read in 8 MiB blocks).
constexpr size_t kSpillReadBlock = size_t{1} << 20;

// How a merge shares the memory budget among its threads.
struct MemoryPlan {
  int64_t chunk_bytes = 0;  // CSV bytes of change rows one merge holds (Arrow data and key index)
  int64_t group_bytes = 0;  // Arrow bytes of a row group being written
};

MemoryPlan PlanMemory(const ApplyOptions& o, int threads) {
  // Below 64 MiB only tests go (the config refuses it): tiny parts.
  const int64_t data = std::max<int64_t>(o.memory_budget - kMemoryReserve, int64_t{96} << 10) /
                       std::max(o.concurrent_applies, 1);
  const int64_t share = data / std::max(threads, 1);
  // Measured: reading a part's CSV into Arrow builders peaks at about 3.5 times its bytes
  // (builders grow by doubling), a row group being encoded at about 1.2 times its Arrow bytes.
  MemoryPlan p;
  p.chunk_bytes = share / 5;
  p.group_bytes = share / 5;
  return p;
}

// The part of a key hash among `parts` (the high half: the merge's index uses the low bits).
int PartOf(uint64_t hash, int parts) {
  return static_cast<int>(((hash >> 32) * static_cast<uint64_t>(parts)) >> 32);
}

// A change file split by bucket and key-hash part into local CSV files (no header), removed with
// the object. Records keep their file order within a part; every change of a key is in one part.
class ChangeSpill {
 public:
  static Result<std::unique_ptr<ChangeSpill>> Make(const ApplyOptions& o, int buckets, int parts) {
    std::string base = o.spill_dir;
    if (base.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    RemoveAbandonedSpills(base);
    std::string dir =
        base + "/" + std::string(kSpillPrefix) + std::to_string(::getpid()) + "-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      return Status::IOError(base + ": cannot create a spill folder (" + std::strerror(errno) +
                             "); set [lake] spill_dir to a writable local folder");
    }
    std::unique_ptr<ChangeSpill> s(new ChangeSpill());
    s->dir_ = dir;
    s->buckets_ = buckets;
    s->parts_ = parts;
    const size_t n = static_cast<size_t>(buckets) * static_cast<size_t>(parts);
    s->files_.assign(n, nullptr);
    s->rows_.assign(n, 0);
    s->buffer_ = static_cast<size_t>(
        std::clamp<int64_t>(kSpillBufferBytes / static_cast<int64_t>(n), 4096, 1 << 20));
    // One open file per (bucket, part): lift the soft limit on open files to the hard one.
    struct rlimit lim {};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
      lim.rlim_cur = lim.rlim_max;
      (void)::setrlimit(RLIMIT_NOFILE, &lim);
    }
    return s;
  }
  ~ChangeSpill() {
    for (FILE* f : files_) {
      if (f != nullptr) std::fclose(f);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ChangeSpill(const ChangeSpill&) = delete;
  ChangeSpill& operator=(const ChangeSpill&) = delete;

  int parts() const { return parts_; }
  std::string Path(int bucket, int part) const {
    return dir_ + "/" + std::to_string(bucket) + "-" + std::to_string(part) + ".csv";
  }
  uint64_t rows(int bucket, int part) const { return rows_[Index(bucket, part)]; }
  bool Touched(int bucket) const {
    for (int p = 0; p < parts_; p++) {
      if (rows(bucket, p) > 0) return true;
    }
    return false;
  }

  Status Write(int bucket, int part, std::string_view record) {
    const size_t i = Index(bucket, part);
    if (files_[i] == nullptr) {
      const std::string path = Path(bucket, part);
      files_[i] = std::fopen(path.c_str(), "wb");
      if (files_[i] == nullptr) return Failed(path);
      std::setvbuf(files_[i], nullptr, _IOFBF, buffer_);
    }
    if (std::fwrite(record.data(), 1, record.size(), files_[i]) != record.size() ||
        (record.empty() || record.back() != '\n' ? std::fputc('\n', files_[i]) == EOF : false)) {
      return Failed(Path(bucket, part));
    }
    rows_[i]++;
    return Status::Ok();
  }

  // Every file written out (before they are read).
  Status Close() {
    for (size_t i = 0; i < files_.size(); i++) {
      if (files_[i] == nullptr) continue;
      const bool bad = std::fclose(files_[i]) != 0;
      files_[i] = nullptr;
      if (bad) return Failed(dir_);
    }
    return Status::Ok();
  }

 private:
  ChangeSpill() = default;
  static constexpr std::string_view kSpillPrefix = "binlake-spill-";
  // Folders of applies that died (kill -9, a crash): binlake-spill-<pid>-* whose process is gone.
  static void RemoveAbandonedSpills(const std::string& base) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(kSpillPrefix, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + kSpillPrefix.size(), nullptr, 10);
      if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
        std::error_code rm;
        std::filesystem::remove_all(e.path(), rm);
      }
    }
  }
  size_t Index(int bucket, int part) const {
    return static_cast<size_t>(bucket) * static_cast<size_t>(parts_) + static_cast<size_t>(part);
  }
  static Status Failed(const std::string& path) {
    return Status::IOError(path + ": cannot write a spill file (" + std::strerror(errno) +
                           "); free space there or set [lake] spill_dir to a local folder with "
                           "room for the change file");
  }

  std::string dir_;
  int buckets_ = 0, parts_ = 1;
  size_t buffer_ = 4096;
  std::vector<FILE*> files_;
  std::vector<uint64_t> rows_;
};

// Rows converted (and checked) before their key hashes choose their parts.
constexpr int64_t kSpillBatchRows = 4096;

// Splits change file `name` into `spill`: each record is converted to the table's types (the
// errors name the staged file and line) and goes to its bucket and key-hash part.
Status SpillChanges(const ApplyOptions& o, const Table& t, const std::string& name,
                    ChangeSpill* spill) {
  const Layout layout = RecordLayout(o, t, false);
  const std::string path = t.st->Where(name);
  BL_ASSIGN_OR_RETURN(auto blocks, OpenStagedCsv(*t.st, name));
  BucketBuilders convert(t, layout);  // every row in builder set 0: converted, then hashed
  std::string held;                   // raw records of the rows converted so far
  std::vector<size_t> ends;
  std::vector<int> buckets;
  std::vector<uint64_t> hashes;
  auto flush = [&]() -> Status {
    if (ends.empty()) return Status::Ok();
    BL_ASSIGN_OR_RETURN(auto batch, convert.Flush(0));
    if (spill->parts() > 1) {
      KeyColumns cols;
      for (int c : t.key) cols.push_back(batch->column(c).get());
      BL_RETURN_IF_ERROR(HashKeys(cols, batch->num_rows(), &hashes));
    }
    size_t begin = 0;
    for (size_t i = 0; i < ends.size(); i++) {
      const int part = spill->parts() > 1 ? PartOf(hashes[i], spill->parts()) : 0;
      BL_RETURN_IF_ERROR(
          spill->Write(buckets[i], part, std::string_view(held).substr(begin, ends[i] - begin)));
      begin = ends[i];
    }
    held.clear();
    ends.clear();
    buckets.clear();
    return Status::Ok();
  };
  std::string block;
  uint64_t first_line = 0;
  Fields fields;
  while (true) {
    BL_ASSIGN_OR_RETURN(bool more, blocks->Next(&block, &first_line));
    if (!more) break;
    staging::CsvReader reader(block, o.csv, layout.fields, first_line);
    while (reader.NextViews(&fields)) {
      if (o.csv.header && reader.line() == 1) continue;
      auto where = [&] { return path + ":" + std::to_string(reader.line()); };
      auto op = RecordOp(layout, fields);
      if (!op.ok()) return op.status().WithContext(where());
      buckets.push_back(convert.BucketOfRecord(fields));
      Status st = convert.Append(0, fields);
      if (!st.ok()) return st.WithContext(where());
      held.append(reader.record());
      ends.push_back(held.size());
      if (static_cast<int64_t>(ends.size()) >= kSpillBatchRows) BL_RETURN_IF_ERROR(flush());
    }
    if (!reader.status().ok()) return reader.status().WithContext(path);
    BL_RETURN_IF_ERROR(flush());  // the block's views end with it
  }
  return spill->Close();
}

std::vector<ValueKind> Kinds(const Table& t) {
  std::vector<ValueKind> k;
  for (const auto& type : t.types) k.push_back(type.kind);
  return k;
}

// A full load's data files, one per non-empty bucket: every LOAD file is parsed block by block
// on all threads, each thread filling its own per-bucket builders and writing a bucket's rows as
// one row group once it holds `flush_rows`. Memory: threads x buckets x flush_rows rows at most.
class LoadWriter {
 public:
  LoadWriter(const ApplyOptions& o, const Table& t, std::vector<std::string> names)
      : o_(o), t_(t), names_(std::move(names)), layout_(RecordLayout(o, t, true)) {
    threads_ = Threads(o);
    files_.resize(static_cast<size_t>(t.buckets));
    file_mu_ = std::make_unique<std::mutex[]>(static_cast<size_t>(t.buckets));
    flush_rows_ = o.load_flush_rows > 0
                      ? o.load_flush_rows
                      : std::clamp<int64_t>(kLoadBufferRows / (int64_t{t.buckets} * threads_), 4096,
                                            kRowGroupRows);
  }

  // The finished files in bucket order (the caller commits or discards them).
  Result<std::vector<std::unique_ptr<BucketFile>>> Run() {
    BL_RETURN_IF_ERROR(ParallelFor(threads_, threads_, [this](int) { return Work(); }));
    std::vector<std::unique_ptr<BucketFile>> out;
    for (auto& f : files_) {
      if (f) out.push_back(std::move(f));
    }
    // Closing writes the footers and fsyncs: in parallel too.
    std::vector<std::optional<std::string>> adds(out.size());
    BL_RETURN_IF_ERROR(ParallelFor(static_cast<int>(out.size()), threads_, [&](int i) -> Status {
      BL_ASSIGN_OR_RETURN(adds[i], out[i]->Finish());
      return Status::Ok();
    }));
    adds_ = std::move(adds);
    return out;
  }
  const std::vector<std::optional<std::string>>& adds() const { return adds_; }

 private:
  // The next block of whole records, or false when every file is read.
  Result<bool> NextBlock(std::string* block, uint64_t* first_line, size_t* file) {
    std::lock_guard<std::mutex> lock(read_mu_);
    while (next_file_ < names_.size()) {
      if (!reader_) {
        BL_ASSIGN_OR_RETURN(reader_, OpenStagedCsv(*t_.st, names_[next_file_]));
      }
      BL_ASSIGN_OR_RETURN(bool more, reader_->Next(block, first_line));
      if (more) {
        *file = next_file_;
        return true;
      }
      reader_.reset();
      next_file_++;
    }
    return false;
  }

  Status Write(BucketBuilders* builders, int b) {
    BL_ASSIGN_OR_RETURN(auto batch, builders->Flush(b));
    std::lock_guard<std::mutex> lock(file_mu_[b]);
    if (!files_[b]) {
      BL_ASSIGN_OR_RETURN(files_[b],
                          BucketFile::Create(t_.lake.get(), b, t_.arrow_schema, Kinds(t_), false));
    }
    return files_[b]->WriteRowGroup(batch);
  }

  Status Work() {
    BucketBuilders builders(t_, layout_);
    std::string block;
    uint64_t first_line = 0;
    size_t file = 0;
    Fields fields;
    while (true) {
      BL_ASSIGN_OR_RETURN(bool more, NextBlock(&block, &first_line, &file));
      if (!more) break;
      const std::string path = t_.st->Where(names_[file]);
      staging::CsvReader reader(block, o_.csv, layout_.fields, first_line);
      uint64_t rows = 0;
      while (reader.NextViews(&fields)) {
        if (o_.csv.header && reader.line() == 1) continue;
        auto where = [&] { return path + ":" + std::to_string(reader.line()); };
        auto op = RecordOp(layout_, fields);
        if (!op.ok()) return op.status().WithContext(where());
        const int b = builders.BucketOfRecord(fields);
        Status st = builders.Append(b, fields);
        if (!st.ok()) return st.WithContext(where());
        if (builders.rows(b) >= flush_rows_) BL_RETURN_IF_ERROR(Write(&builders, b));
        rows++;
      }
      if (!reader.status().ok()) return reader.status().WithContext(path);
      Progress(rows);
    }
    for (int b = 0; b < t_.buckets; b++) {
      if (builders.rows(b) > 0) BL_RETURN_IF_ERROR(Write(&builders, b));
    }
    return Status::Ok();
  }

  // A progress line at most every 200 ms: rows parsed of the load's rows.
  void Progress(uint64_t rows) {
    const uint64_t done = rows_done_.fetch_add(rows) + rows;
    if (!o_.progress) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(progress_mu_);
    if (now - last_progress_ < std::chrono::milliseconds(200)) return;
    last_progress_ = now;
    const double secs = std::chrono::duration<double>(now - started_).count();
    const uint64_t total = std::max<uint64_t>(1, total_rows_);
    o_.progress(log::Bar(static_cast<double>(done) / static_cast<double>(total)) + " apply " +
                t_.schema + "." + t_.table + " full load: " + std::to_string(done) + "/" +
                std::to_string(total_rows_) + " rows, " + std::to_string(static_cast<int>(secs)) +
                " s");
  }

 public:
  void set_total_rows(uint64_t rows) { total_rows_ = rows; }

 private:
  const ApplyOptions& o_;
  const Table& t_;
  std::vector<std::string> names_;
  Layout layout_;
  int threads_ = 1;
  int64_t flush_rows_ = 0;
  std::atomic<uint64_t> rows_done_{0};
  uint64_t total_rows_ = 0;
  std::mutex progress_mu_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_ = started_;
  std::mutex read_mu_;
  size_t next_file_ = 0;
  std::unique_ptr<staging::CsvBlockReader> reader_;
  std::vector<std::unique_ptr<BucketFile>> files_;
  std::unique_ptr<std::mutex[]> file_mu_;
  std::vector<std::optional<std::string>> adds_;
};

// One touched bucket of a change file: its old files streamed through the merge into one new
// file (none when no row is left).
struct BucketRewrite {
  int bucket = 0;
  std::vector<std::pair<std::string, int64_t>> old_files;  // path in the log, size
  const BucketChanges* changes = nullptr;
  bool removes_old = true;  // its commit removes old_files (one rewrite of a bucket's parts does)
  BatchVector foreign;      // rows of other engines' files whose key is among the bucket's changes
  std::unique_ptr<BucketFile> file;
  std::optional<std::string> add;
  std::vector<std::string> warnings;
};

// A data file streamed batch by batch, each batch aligned to the table's schema.
class DataFileReader {
 public:
  // `sources` (a schema change): where each of the table's columns comes from (AlignBatch).
  static Result<std::unique_ptr<DataFileReader>> Open(
      const Table& t, const std::string& key, bool use_threads,
      const std::vector<std::string>* sources = nullptr,
      const std::vector<std::shared_ptr<arrow::Scalar>>* fills = nullptr) {
    std::unique_ptr<DataFileReader> r(new DataFileReader());
    r->t_ = &t;
    r->sources_ = sources;
    r->fills_ = fills;
    r->path_ = t.dir + "/" + key;
    parquet::ArrowReaderProperties props(use_threads);
    props.set_batch_size(kReadBatchRows);
    parquet::arrow::FileReaderBuilder builder;
    builder.memory_pool(LakePool());
    BL_ASSIGN_OR_RETURN(auto input, OpenArrowInput(*t.lake, key));
    auto st = builder.Open(input);
    if (!st.ok()) {
      return Status::Corruption(r->path_ + ": " + st.ToString() +
                                "; restore the file from a backup, or reload the table with a new "
                                "full load");
    }
    auto reader = builder.properties(props)->Build();
    if (!reader.ok()) return Status::Corruption(r->path_ + ": " + reader.status().ToString());
    r->reader_ = std::move(*reader);
    auto batches = r->reader_->GetRecordBatchReader();
    if (!batches.ok()) return Status::Corruption(r->path_ + ": " + batches.status().ToString());
    r->batches_ = std::move(*batches);
    return r;
  }

  // The next batch, or nullptr at the end.
  Result<std::shared_ptr<arrow::RecordBatch>> Next() {
    std::shared_ptr<arrow::RecordBatch> batch;
    auto rs = batches_->ReadNext(&batch);
    if (!rs.ok()) return Status::Corruption(path_ + ": " + rs.ToString());
    if (!batch) return batch;
    return AlignBatch(batch, t_->arrow_schema, path_, sources_, fills_);
  }

  const std::string& path() const { return path_; }

 private:
  DataFileReader() = default;
  const Table* t_ = nullptr;
  const std::vector<std::string>* sources_ = nullptr;
  const std::vector<std::shared_ptr<arrow::Scalar>>* fills_ = nullptr;
  std::string path_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
};

// The rows of `batch` whose key hash falls in part `part` of `parts` (all of them for one part).
Result<std::shared_ptr<arrow::RecordBatch>> RowsOfPart(const Table& t,
                                                       std::shared_ptr<arrow::RecordBatch> batch,
                                                       int parts, int part, const std::string& path,
                                                       std::vector<uint64_t>* hashes) {
  if (parts <= 1) return batch;
  KeyColumns cols;
  for (int c : t.key) cols.push_back(batch->column(c).get());
  BL_RETURN_IF_ERROR(HashKeys(cols, batch->num_rows(), hashes));
  arrow::Int64Builder ib(LakePool());
  for (int64_t i = 0; i < batch->num_rows(); i++) {
    if (PartOf((*hashes)[static_cast<size_t>(i)], parts) == part) {
      BL_RETURN_IF_ERROR(Check(ib.Append(i), path));
    }
  }
  if (ib.length() == batch->num_rows()) return batch;
  std::shared_ptr<arrow::Array> idx;
  BL_RETURN_IF_ERROR(Check(ib.Finish(&idx), path));
  arrow::compute::ExecContext ctx(LakePool());
  auto taken = arrow::compute::Take(batch, idx, arrow::compute::TakeOptions::Defaults(), &ctx);
  if (!taken.ok()) return Status::Internal(path + ": " + taken.status().ToString());
  return taken->record_batch();
}

// Merges a bucket's changes with its old rows into one new file. With `parts` > 1 the changes
// are one key-hash part of the bucket's and only the old rows of that part are read.
Status RewriteBucket(const Table& t, bool use_threads, int64_t group_bytes, BucketRewrite* r,
                     int parts = 1, int part = 0) {
  BL_ASSIGN_OR_RETURN(auto merge,
                      BucketMerge::Make(r->changes->rows, r->changes->ops, t.key, t.has_pk));
  BL_ASSIGN_OR_RETURN(
      r->file, BucketFile::Create(t.lake.get(), r->bucket, t.arrow_schema, Kinds(t), use_threads));
  r->file->set_max_group_bytes(group_bytes);
  BatchVector kept;
  // Other engines' rows of the bucket's keys are old rows like the bucket's own.
  for (const auto& batch : r->foreign) {
    kept.clear();
    BL_RETURN_IF_ERROR(merge->Filter(batch, &kept));
    for (const auto& k : kept) BL_RETURN_IF_ERROR(r->file->Append(k));
  }
  std::vector<uint64_t> hashes;
  for (const auto& [fpath, size] : r->old_files) {
    BL_ASSIGN_OR_RETURN(auto key, DataFileKey(fpath));
    BL_ASSIGN_OR_RETURN(auto reader, DataFileReader::Open(t, key, use_threads));
    while (true) {
      BL_ASSIGN_OR_RETURN(auto batch, reader->Next());
      if (!batch) break;
      BL_ASSIGN_OR_RETURN(batch, RowsOfPart(t, batch, parts, part, reader->path(), &hashes));
      kept.clear();
      BL_RETURN_IF_ERROR(merge->Filter(batch, &kept));
      for (const auto& k : kept) BL_RETURN_IF_ERROR(r->file->Append(k));
    }
  }
  kept.clear();
  BL_RETURN_IF_ERROR(merge->Finish(&kept, &r->warnings));
  for (const auto& k : kept) BL_RETURN_IF_ERROR(r->file->Append(k));
  BL_ASSIGN_OR_RETURN(r->add, r->file->Finish());
  return Status::Ok();
}

// Every key of a change file, over all its buckets: which bucket's merge a row of another
// engine's file belongs to when its key is one of them (typed equality, as the merge compares).
class ChangeKeys {
 public:
  static Result<ChangeKeys> Make(const Table& t, const std::map<int, BucketChanges>& changes) {
    ChangeKeys k;
    k.key_ = t.key;
    std::vector<uint64_t> hashes;
    for (const auto& [b, c] : changes) {
      Part part;
      part.bucket = b;
      part.rows = c.rows;
      for (int col : t.key) part.cols.push_back(c.rows->column(col).get());
      BL_RETURN_IF_ERROR(HashKeys(part.cols, c.rows->num_rows(), &hashes));
      const int p = static_cast<int>(k.parts_.size());
      for (int64_t j = 0; j < c.rows->num_rows(); j++) {
        // Deletes and updates first (they act on an existing row), then by place in the file.
        const int64_t rank = (c.ops[static_cast<size_t>(j)] == 'I' ? int64_t{1} << 62 : 0) +
                             c.order[static_cast<size_t>(j)];
        k.index_.emplace(hashes[j], Entry{p, j, rank});
      }
      k.parts_.push_back(std::move(part));
    }
    return k;
  }

  const std::vector<int>& key() const { return key_; }

  // The bucket of the change key equal to row `row` of `cols`, or -1. Keys of different
  // canonical texts can be equal as lake values (a zero date and NULL are both null; a table
  // without a primary key has every column in its key), so they can sit in several buckets: the
  // old row goes to the bucket of the first delete or update among them, the change that acts on
  // an existing row, else of the first insert.
  int Find(uint64_t hash, const KeyColumns& cols, int64_t row) const {
    auto [it, end] = index_.equal_range(hash);
    int bucket = -1;
    int64_t best = 0;
    for (; it != end; ++it) {
      const Part& p = parts_[it->second.part];
      if ((bucket < 0 || it->second.rank < best) && KeysEqual(cols, row, p.cols, it->second.row)) {
        bucket = p.bucket;
        best = it->second.rank;
      }
    }
    return bucket;
  }

 private:
  struct Part {
    int bucket = 0;
    std::shared_ptr<arrow::RecordBatch> rows;  // owns cols
    KeyColumns cols;
  };
  struct Entry {
    int part = 0;
    int64_t row = 0;
    int64_t rank = 0;  // which matching change takes an old row first (lowest)
  };
  std::vector<int> key_;
  std::vector<Part> parts_;
  std::unordered_multimap<uint64_t, Entry> index_;
};

// A file of another engine (outside the bucket folders) scanned once for rows of the change
// file's keys: those join their bucket's merge; when there is any, the file is removed and its
// other rows are written to one new file at the table root.
struct ForeignRewrite {
  std::string path;  // as the log names it (the remove action)
  std::string key;   // its store key
  int64_t size = 0;
  int64_t hits = 0;
  std::map<int, BatchVector> hit_rows;  // bucket -> rows
  std::unique_ptr<BucketFile> file;     // the rows that stay
  std::optional<std::string> add;
};

// The non-hit rows of a file are held until its first hit (most files of a change have none)
// and written speculatively beyond this many, the file discarded when no hit comes.
constexpr int64_t kForeignHoldRows = int64_t{1} << 20;

Status ScanForeign(const Table& t, const ChangeKeys& keys, bool use_threads, ForeignRewrite* f) {
  BL_ASSIGN_OR_RETURN(auto reader, DataFileReader::Open(t, f->key, use_threads));
  BatchVector held;
  int64_t held_rows = 0;
  auto open = [&]() -> Status {
    if (f->file) return Status::Ok();
    BL_ASSIGN_OR_RETURN(f->file,
                        BucketFile::CreateAt(t.lake.get(), "part-binlake-" + NewUuid() + ".parquet",
                                             t.arrow_schema, Kinds(t), use_threads));
    for (const auto& h : held) BL_RETURN_IF_ERROR(f->file->Append(h));
    held.clear();
    return Status::Ok();
  };
  auto keep = [&](std::shared_ptr<arrow::RecordBatch> rows) -> Status {
    if (!f->file && f->hits == 0 && held_rows + rows->num_rows() <= kForeignHoldRows) {
      held_rows += rows->num_rows();
      held.push_back(std::move(rows));
      return Status::Ok();
    }
    BL_RETURN_IF_ERROR(open());
    return f->file->Append(rows);
  };
  std::vector<uint64_t> hashes;
  std::map<int, std::vector<int64_t>> hit_index;  // bucket -> rows of this batch
  while (true) {
    BL_ASSIGN_OR_RETURN(auto batch, reader->Next());
    if (!batch) break;
    KeyColumns cols;
    for (int c : keys.key()) cols.push_back(batch->column(c).get());
    const int64_t n = batch->num_rows();
    BL_RETURN_IF_ERROR(HashKeys(cols, n, &hashes));
    hit_index.clear();
    int64_t start = 0;  // first row of the run that stays
    for (int64_t i = 0; i < n; i++) {
      const int b = keys.Find(hashes[i], cols, i);
      if (b < 0) continue;
      hit_index[b].push_back(i);
      f->hits++;
      if (i > start) BL_RETURN_IF_ERROR(keep(batch->Slice(start, i - start)));
      start = i + 1;
    }
    if (start < n) BL_RETURN_IF_ERROR(keep(start == 0 ? batch : batch->Slice(start, n - start)));
    for (auto& [b, rows] : hit_index) {
      arrow::Int64Builder ib(LakePool());
      BL_RETURN_IF_ERROR(Check(ib.AppendValues(rows), reader->path()));
      std::shared_ptr<arrow::Array> idx;
      BL_RETURN_IF_ERROR(Check(ib.Finish(&idx), reader->path()));
      arrow::compute::ExecContext ctx(LakePool());
      auto taken = arrow::compute::Take(batch, idx, arrow::compute::TakeOptions::Defaults(), &ctx);
      if (!taken.ok()) return Status::Internal(reader->path() + ": " + taken.status().ToString());
      f->hit_rows[b].push_back(taken->record_batch());
    }
  }
  if (f->hits == 0) {
    f->file.reset();  // discarded: the file stays as it is
    return Status::Ok();
  }
  BL_RETURN_IF_ERROR(open());
  BL_ASSIGN_OR_RETURN(f->add, f->file->Finish());  // nullopt when every row was a hit
  return Status::Ok();
}

class Applier {
 public:
  Applier(const ApplyOptions& o, ApplyStats* stats) : o_(o), stats_(stats) {}

  void Warn(const std::string& m) {
    if (o_.warn) {
      o_.warn(m);
    } else {
      log::Warn(m);
    }
  }

  Status Commit(Table* t, int64_t version, const std::vector<std::string>& actions, bool* won) {
    BL_ASSIGN_OR_RETURN(*won, TryCommitDelta(*t->lake, version, actions));
    if (*won) stats_->commits++;
    // The commit stands either way: a failed checkpoint only leaves readers more log to replay.
    if (*won) {
      Status cp = MaybeCheckpoint(*t->lake, version, o_.checkpoints);
      if (!cp.ok()) Warn("checkpoint of " + t->dir + ": " + cp.message());
    }
    return Status::Ok();
  }

  // Rebuilds the table from all its LOAD files; the commit's txn is the load's after_sequence.
  Status ApplyLoad(Table* t, const StagedLoad& staged) {
    const std::string& load_id = staged.id;
    const int version = staged.schema_version;
    const uint64_t rows = staged.rows;
    for (int attempt = 0; attempt < 5; attempt++) {
      BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(*t->lake));
      auto it = snap.configuration.find("binlake.load");
      if (it != snap.configuration.end() && it->second == load_id) {
        stats_->skipped++;
        return Status::Ok();
      }
      BL_RETURN_IF_ERROR(CheckLoadAfter(*t, snap, staged.after_sequence));
      t->buckets = o_.buckets > 0 ? o_.buckets : AutoBuckets(rows);
      BL_RETURN_IF_ERROR(InitTable(o_, version, t));
      LoadWriter writer(o_, *t, staged.names);
      writer.set_total_rows(rows);
      BL_ASSIGN_OR_RETURN(auto files, writer.Run());
      std::vector<std::string> actions;
      TableHeader(*t, snap, load_id, &actions);
      for (const auto& [path, size] : snap.files) actions.push_back(RemoveAction(path, size));
      int added = 0;
      uint64_t written = 0, bytes = 0;
      for (size_t i = 0; i < files.size(); i++) {
        if (!writer.adds()[i]) continue;
        actions.push_back(*writer.adds()[i]);
        added++;
        written += static_cast<uint64_t>(files[i]->rows());
        bytes += static_cast<uint64_t>(files[i]->bytes());
      }
      actions.push_back(TxnAction(*t, static_cast<int64_t>(staged.after_sequence)));
      actions.push_back(CommitInfo(snap.version < 0 ? "CREATE TABLE AS SELECT" : "WRITE"));
      bool won = false;
      BL_RETURN_IF_ERROR(Commit(t, snap.version + 1, actions, &won));
      if (won) {
        for (auto& f : files) f->Keep();
        stats_->files_added += added;
        stats_->files_removed += static_cast<int>(snap.files.size());
        stats_->rows_written += written;
        stats_->bytes_written += bytes;
        return Status::Ok();
      }
    }
    return Status::IOError(t->dir + ": lost 5 commit races in a row; retry the apply");
  }

  // Merges one change file; skipped when the table's txn already has its sequence.
  Status ApplyCdc(Table* t, const std::string& name, const staging::FileManifest& m) {
    const std::string path = t->st->Where(name);
    for (int attempt = 0; attempt < 5; attempt++) {
      BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(*t->lake));
      auto txn = snap.txns.find(AppId(*t));
      if (txn != snap.txns.end() && txn->second >= static_cast<int64_t>(m.sequence)) {
        stats_->skipped++;
        return Status::Ok();
      }
      std::vector<std::string> actions;
      if (snap.version < 0) {
        t->buckets = o_.buckets > 0 ? o_.buckets : kDefaultBuckets;
        BL_RETURN_IF_ERROR(InitTable(o_, m.schema_version, t));
        TableHeader(*t, snap, "", &actions);
      } else {
        BL_ASSIGN_OR_RETURN(bool same, LoadTableState(snap, m.schema_version, t));
        if (!same) {
          bool won = false;
          BL_RETURN_IF_ERROR(EvolveTable(snap, m.schema_version, t, &won).WithContext(path));
          continue;  // the change file applies to the new table version
        }
      }
      const int threads = Threads(o_);
      const MemoryPlan plan = PlanMemory(o_, threads);
      // A change file too big for a thread's share of memory is split by key on local disk.
      std::unique_ptr<ChangeSpill> spill;
      std::map<int, BucketChanges> changes;
      if (static_cast<int64_t>(m.bytes) > plan.chunk_bytes) {
        const int64_t per_bucket = static_cast<int64_t>(m.bytes) / t->buckets + 1;
        const int parts = static_cast<int>(
            std::clamp<int64_t>((per_bucket + plan.chunk_bytes - 1) / plan.chunk_bytes, 1, 4096));
        BL_ASSIGN_OR_RETURN(spill, ChangeSpill::Make(o_, t->buckets, parts));
        BL_RETURN_IF_ERROR(SpillChanges(o_, *t, name, spill.get()));
      } else {
        BL_ASSIGN_OR_RETURN(changes, ReadChanges(o_, *t, name));
      }
      // One rewrite per changed bucket, or per changed bucket and part of a spilled file (each
      // part reads the bucket's old rows of its keys; the first one removes the old files).
      std::vector<BucketRewrite> rewrites;
      std::vector<int> rewrite_part;
      std::map<int, BucketRewrite*> by_bucket;
      const int parts = spill ? spill->parts() : 1;
      for (int bucket = 0; bucket < t->buckets; bucket++) {
        if (spill ? !spill->Touched(bucket) : changes.count(bucket) == 0) continue;
        for (int p = 0; p < parts; p++) {
          BucketRewrite& r = rewrites.emplace_back();
          r.bucket = bucket;
          r.removes_old = p == 0;
          if (!spill) r.changes = &changes.at(bucket);
          rewrite_part.push_back(p);
        }
      }
      std::map<int, std::vector<BucketRewrite*>> of_bucket;
      for (auto& r : rewrites) {
        if (r.removes_old) by_bucket[r.bucket] = &r;
        of_bucket[r.bucket].push_back(&r);
      }
      std::vector<ForeignRewrite> foreign;
      int removed = 0;
      for (const auto& [fpath, size] : snap.files) {
        if (m.truncate) {  // TRUNCATE / DROP TABLE: the file's rows apply to an empty table
          actions.push_back(RemoveAction(fpath, size));
          removed++;
          continue;
        }
        BL_ASSIGN_OR_RETURN(auto key, DataFileKey(fpath));
        const int b = BucketOfDataFile(key, t->buckets);
        if (b < 0) {
          ForeignRewrite& f = foreign.emplace_back();
          f.path = fpath;
          f.key = key;
          f.size = size;
          continue;
        }
        auto r = of_bucket.find(b);
        if (r == of_bucket.end()) continue;
        for (BucketRewrite* w : r->second) w->old_files.emplace_back(fpath, size);
      }
      if (spill && !foreign.empty()) {
        return Status::NotSupported(
            path + ": " + std::to_string(m.bytes) +
            " bytes of changes, more than the merge holds in " +
            std::to_string(o_.memory_budget >> 20) + " MiB, into a table with " +
            std::to_string(foreign.size()) +
            " data files outside binlake's buckets (another engine's, or a key change's): raise "
            "[lake] memory_mb above " +
            std::to_string((static_cast<int64_t>(m.bytes) * 3 * threads + kMemoryReserve) >> 20) +
            " for this apply");
      }
      BL_RETURN_IF_ERROR(ForeignPass(*t, changes, threads, &foreign, by_bucket).WithContext(path));
      // Buckets (and parts) in parallel; with fewer of them than threads each one reads and
      // encodes its columns on Arrow's threads instead.
      const int n = static_cast<int>(rewrites.size());
      BL_RETURN_IF_ERROR(ParallelFor(n, threads, [&](int k) -> Status {
        BucketRewrite& r = rewrites[static_cast<size_t>(k)];
        const int p = rewrite_part[static_cast<size_t>(k)];
        BucketChanges part;  // a spilled part's changes, read for this rewrite only
        if (spill) {
          if (spill->rows(r.bucket, p) > 0) {
            const std::string file = spill->Path(r.bucket, p);
            BL_ASSIGN_OR_RETURN(auto blocks, staging::CsvBlockReader::Open(file, kSpillReadBlock));
            BL_ASSIGN_OR_RETURN(auto read, ReadChangeBlocks(o_, *t, blocks.get(), path, false));
            if (read.size() == 1) part = std::move(read.begin()->second);
          }
          if (!part.rows)
            part.rows = arrow::RecordBatch::MakeEmpty(t->arrow_schema).ValueOr(nullptr);
          if (!part.rows) return Status::Internal(path + ": arrow: an empty batch");
          r.changes = &part;
        }
        Status st = RewriteBucket(*t, n < threads, plan.group_bytes, &r, parts, p);
        r.changes = nullptr;
        return st.WithContext(path);
      }));
      int added = 0;
      uint64_t written = 0, bytes = 0;
      for (auto& f : foreign) {
        if (f.hits == 0) continue;
        actions.push_back(RemoveAction(f.path, f.size));
        removed++;
        if (!f.add) continue;
        actions.push_back(*f.add);
        added++;
        written += static_cast<uint64_t>(f.file->rows());
        bytes += static_cast<uint64_t>(f.file->bytes());
      }
      for (auto& r : rewrites) {
        for (const auto& w : r.warnings) Warn(path + ": " + w);
        for (const auto& [fpath, size] : r.old_files) {
          if (!r.removes_old) break;
          actions.push_back(RemoveAction(fpath, size));
          removed++;
        }
        if (!r.add) continue;
        actions.push_back(*r.add);
        added++;
        written += static_cast<uint64_t>(r.file->rows());
        bytes += static_cast<uint64_t>(r.file->bytes());
      }
      actions.push_back(TxnAction(*t, static_cast<int64_t>(m.sequence)));
      actions.push_back(CommitInfo(m.truncate && m.rows == 0 ? "TRUNCATE" : "MERGE"));
      bool won = false;
      BL_RETURN_IF_ERROR(Commit(t, snap.version + 1, actions, &won));
      if (won) {
        for (auto& r : rewrites) {
          if (r.file) r.file->Keep();
        }
        for (auto& f : foreign) {
          if (f.file) f.file->Keep();
        }
        stats_->files_added += added;
        stats_->files_removed += removed;
        stats_->rows_written += written;
        stats_->bytes_written += bytes;
        return Status::Ok();
      }
    }
    return Status::IOError(t->dir + ": lost 5 commit races in a row; retry the apply");
  }

 private:
  // A txn only moves forward: a table that applied a change file newer than the load (by a writer
  // that ignored the load) cannot take it without losing that change.
  static Status CheckLoadAfter(const Table& t, const DeltaSnapshot& snap, uint64_t after) {
    auto txn = snap.txns.find(AppId(t));
    if (txn == snap.txns.end() || txn->second <= static_cast<int64_t>(after)) return Status::Ok();
    return Status::Corruption(t.dir + " applied change file " + std::to_string(txn->second) +
                              ", newer than its staged full load (after change file " +
                              std::to_string(after) +
                              "), before that load: delete the lake table and apply again");
  }

  // Files of other engines: each scanned once (in parallel) for rows of the change keys, which
  // join their bucket's merge (docs/lake.md "Files written by other engines").
  static Status ForeignPass(const Table& t, const std::map<int, BucketChanges>& changes,
                            int threads, std::vector<ForeignRewrite>* foreign,
                            const std::map<int, BucketRewrite*>& by_bucket) {
    if (foreign->empty() || changes.empty()) return Status::Ok();
    BL_ASSIGN_OR_RETURN(auto keys, ChangeKeys::Make(t, changes));
    const int n = static_cast<int>(foreign->size());
    BL_RETURN_IF_ERROR(ParallelFor(n, threads, [&](int k) {
      return ScanForeign(t, keys, n < threads, &(*foreign)[static_cast<size_t>(k)]);
    }));
    for (auto& f : *foreign) {
      for (auto& [b, rows] : f.hit_rows) {
        auto& dst = by_bucket.at(b)->foreign;
        dst.insert(dst.end(), rows.begin(), rows.end());
      }
      f.hit_rows.clear();
    }
    return Status::Ok();
  }

  // The table's own bucket count, and the columns of the file's schema version as the lake
  // holds them. False when the lake's schema does not take that version's rows as they are: a
  // schema change (EvolveTable) comes first.
  Result<bool> LoadTableState(const DeltaSnapshot& snap, int file_version, Table* t) {
    auto b = snap.configuration.find("binlake.buckets");
    auto v = snap.configuration.find("binlake.schemaVersion");
    if (b == snap.configuration.end() || v == snap.configuration.end()) {
      return Status::NotSupported(t->dir +
                                  " was not written by binlake (no binlake.buckets in its "
                                  "metaData): move that table away or use another lake path");
    }
    t->buckets = std::max(1, std::atoi(b->second.c_str()));
    const int table_version = std::atoi(v->second.c_str());
    BL_RETURN_IF_ERROR(InitTable(o_, file_version, t));
    BL_ASSIGN_OR_RETURN(auto lake, LakeColumnsOf(snap, t->dir));
    const size_t n = t->names.size();
    bool same = lake.names.size() >= n;
    for (size_t i = 0; same && i < n; i++) {
      same = lake.names[i] == t->names[i] && lake.types[i].arrow->Equals(*t->types[i].arrow);
    }
    for (size_t i = n; same && i < lake.names.size(); i++) {
      same = std::find(t->names.begin(), t->names.end(), lake.names[i]) == t->names.end();
    }
    if (same && file_version != table_version) {
      // The rows are bucketed by the table's key: it must be the same columns.
      BL_ASSIGN_OR_RETURN(auto old, StagedSchema(*t->st, table_version));
      same = KeyNames(old) == KeyNames(t->ts);
    }
    if (!same) {
      if (file_version == table_version) {
        return Status::Corruption(t->dir +
                                  ": the lake table's columns differ from staging schema "
                                  "version " +
                                  std::to_string(file_version) +
                                  " that its log names; reload the table (a new full load)");
      }
      return false;
    }
    for (size_t i = n; i < lake.names.size(); i++) AddLakeColumn(lake.names[i], lake.types[i], t);
    return true;
  }

  static void AddLakeColumn(const std::string& name, const LakeType& type, Table* t) {
    t->names.push_back(name);
    t->types.push_back(type);
    auto fields = t->arrow_schema->fields();
    fields.push_back(arrow::field(name, type.arrow, true));
    t->arrow_schema = arrow::schema(fields);
  }

  // The key's column names in order (every column without a primary key).
  static std::vector<std::string> KeyNames(const staging::TableSchema& ts) {
    std::vector<std::pair<int, std::string>> pk;
    for (const auto& c : ts.columns) {
      if (c.pk_position >= 0) pk.emplace_back(c.pk_position, c.name);
    }
    std::sort(pk.begin(), pk.end());
    std::vector<std::string> out;
    out.reserve(std::max(pk.size(), ts.columns.size()));
    for (const auto& c : pk) out.push_back(c.second);
    if (out.empty()) {
      for (const auto& c : ts.columns) out.push_back(c.name);
    }
    return out;
  }

  // A schema change (docs/lake.md "Schema changes"): the table moves to the file's schema
  // version in one commit that rewrites every data file: new columns NULL, renamed columns
  // (same place and binlog type, a new name) carried over, widened types cast, dropped columns
  // kept at the end or left out ([lake] dropped_columns). With the same key the files stay in
  // their buckets; with another key (a changed primary key, or any change of a table without
  // one) the rows move outside the bucket folders, where every later merge finds them by key.
  Status EvolveTable(const DeltaSnapshot& snap, int file_version, Table* t, bool* won) {
    const int table_version = std::atoi(snap.configuration.at("binlake.schemaVersion").c_str());
    BL_ASSIGN_OR_RETURN(auto old, StagedSchema(*t->st, table_version));
    BL_ASSIGN_OR_RETURN(auto lake, LakeColumnsOf(snap, t->dir));
    BL_RETURN_IF_ERROR(InitTable(o_, file_version, t));
    const std::string what = t->schema + "." + t->table + " (schema version " +
                             std::to_string(table_version) + " -> " + std::to_string(file_version) +
                             ")";
    auto lake_index = [&](const std::string& name) -> int {
      auto it = std::find(lake.names.begin(), lake.names.end(), name);
      return it == lake.names.end() ? -1 : static_cast<int>(it - lake.names.begin());
    };
    auto named = [](const staging::TableSchema& ts, const std::string& name) {
      return std::any_of(ts.columns.begin(), ts.columns.end(),
                         [&](const auto& c) { return c.name == name; });
    };
    // Renames: the same place and binlog type under a name neither side has otherwise.
    std::map<std::string, std::string> renamed;  // new name -> old name
    if (old.columns.size() == t->ts.columns.size()) {
      for (size_t i = 0; i < old.columns.size(); i++) {
        const auto& a = old.columns[i];
        const auto& c = t->ts.columns[i];
        if (a.name != c.name && a.binlog_type == c.binlog_type && a.binlog_meta == c.binlog_meta &&
            a.is_unsigned == c.is_unsigned && !named(t->ts, a.name) && !named(old, c.name)) {
          renamed[c.name] = a.name;
        }
      }
    }
    std::vector<std::string> sources;
    std::vector<std::shared_ptr<arrow::Scalar>> fills;  // an added column's default
    std::set<int> used;
    std::vector<std::string> added, changed;
    for (size_t i = 0; i < t->names.size(); i++) {
      auto r = renamed.find(t->names[i]);
      const std::string from = r == renamed.end() ? t->names[i] : r->second;
      // A kept column of an earlier DROP is not the source of a new column of that name.
      const int at = named(old, from) ? lake_index(from) : -1;
      if (at < 0) {
        sources.emplace_back();
        const auto& d = t->ts.columns[i].default_value;
        auto fill = d ? DefaultScalar(t->types[i], *d) : nullptr;
        fills.push_back(fill);
        added.push_back(t->names[i] + (fill ? " (rows that existed: " + *d + ")" : ""));
        continue;
      }
      fills.emplace_back();
      used.insert(at);
      sources.push_back(from);
      const LakeType& was = lake.types[static_cast<size_t>(at)];
      if (!Widens(was, t->types[i])) {
        return Status::NotSupported(what + ": column " + t->names[i] + " changes from " +
                                    was.delta + " to " + t->types[i].delta +
                                    ", which is not a widening the lake can follow; reload the "
                                    "table with a new full load (binlake run --resnapshot)");
      }
      if (r != renamed.end()) changed.push_back("renamed " + from + " to " + t->names[i]);
      if (!was.arrow->Equals(*t->types[i].arrow)) {
        changed.push_back("widened " + t->names[i] + " from " + was.delta + " to " +
                          t->types[i].delta);
      }
    }
    std::vector<std::string> dropped;
    for (size_t i = 0; i < lake.names.size(); i++) {
      if (used.count(static_cast<int>(i))) continue;
      const bool was_kept = std::none_of(old.columns.begin(), old.columns.end(),
                                         [&](const auto& c) { return c.name == lake.names[i]; });
      if (!was_kept) dropped.push_back(lake.names[i]);
      // A kept column whose name the source uses again gives way to the new column.
      if (o_.keep_dropped_columns && !named(t->ts, lake.names[i])) {
        AddLakeColumn(lake.names[i], lake.types[i], t);
        sources.push_back(lake.names[i]);
        fills.emplace_back();
      }
    }
    std::vector<std::string> old_key = KeyNames(old);
    for (auto& k : old_key) {
      for (const auto& [to, from] : renamed) {
        if (k == from) k = to;
      }
    }
    bool same_key = old_key == KeyNames(t->ts);
    for (int k : t->key) {
      const int at = lake_index(sources[static_cast<size_t>(k)]);
      same_key = same_key && at >= 0 &&
                 lake.types[static_cast<size_t>(at)].arrow->Equals(*t->types[k].arrow);
    }
    // Every data file rewritten, in parallel.
    struct Rewrite {
      std::string path, key;
      int64_t size = 0;
      std::unique_ptr<BucketFile> file;
      std::optional<std::string> add;
    };
    std::vector<Rewrite> files;
    for (const auto& [path, size] : snap.files) {
      Rewrite& r = files.emplace_back();
      r.path = path;
      r.size = size;
      BL_ASSIGN_OR_RETURN(r.key, DataFileKey(path));
    }
    const int threads = Threads(o_);
    const int nfiles = static_cast<int>(files.size());
    BL_RETURN_IF_ERROR(ParallelFor(nfiles, threads, [&](int k) -> Status {
      Rewrite& r = files[static_cast<size_t>(k)];
      const bool use_threads = nfiles < threads;
      BL_ASSIGN_OR_RETURN(auto reader,
                          DataFileReader::Open(*t, r.key, use_threads, &sources, &fills));
      const int b = same_key ? BucketOfDataFile(r.key, t->buckets) : -1;
      if (b >= 0) {
        BL_ASSIGN_OR_RETURN(
            r.file, BucketFile::Create(t->lake.get(), b, t->arrow_schema, Kinds(*t), use_threads));
      } else {
        BL_ASSIGN_OR_RETURN(
            r.file, BucketFile::CreateAt(t->lake.get(), "part-binlake-" + NewUuid() + ".parquet",
                                         t->arrow_schema, Kinds(*t), use_threads));
      }
      while (true) {
        BL_ASSIGN_OR_RETURN(auto batch, reader->Next());
        if (!batch) break;
        BL_RETURN_IF_ERROR(r.file->Append(batch));
      }
      BL_ASSIGN_OR_RETURN(r.add, r.file->Finish());
      return Status::Ok();
    }));
    std::vector<std::string> actions;
    auto load = snap.configuration.find("binlake.load");
    TableHeader(*t, snap, load == snap.configuration.end() ? "" : load->second, &actions);
    int added_files = 0;
    uint64_t rows = 0, bytes = 0;
    for (auto& r : files) {
      actions.push_back(RemoveAction(r.path, r.size));
      if (!r.add) continue;
      actions.push_back(*r.add);
      added_files++;
      rows += static_cast<uint64_t>(r.file->rows());
      bytes += static_cast<uint64_t>(r.file->bytes());
    }
    actions.push_back(CommitInfo("ALTER TABLE"));
    BL_RETURN_IF_ERROR(Commit(t, snap.version + 1, actions, won));
    if (!*won) return Status::Ok();
    for (auto& r : files) {
      if (r.file) r.file->Keep();
    }
    stats_->files_added += added_files;
    stats_->files_removed += nfiles;
    stats_->rows_written += rows;
    stats_->bytes_written += bytes;
    stats_->schema_changes++;
    auto list = [](const char* label, const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? std::string("; ") + label + " " : ", ") + x;
      return out;
    };
    std::string line =
        "schema change of " + what + list("added", added) +
        list(o_.keep_dropped_columns ? "dropped (kept in the lake)" : "dropped", dropped);
    for (const auto& c : changed) line += "; " + c;
    if (!same_key) line += "; the key changed: rows now sit outside the bucket folders";
    Info(line + "; " + std::to_string(nfiles) + " data files rewritten (" + std::to_string(rows) +
         " rows)");
    return Status::Ok();
  }

  // An added column's default (canonical staging text) as a value of its lake type; null (the
  // rows get NULL, with a warning) when it does not read as one.
  std::shared_ptr<arrow::Scalar> DefaultScalar(const LakeType& type, const std::string& text) {
    auto made = arrow::MakeBuilder(type.arrow, LakePool());
    std::shared_ptr<arrow::Array> one;
    if (made.ok() && AppendValue(type, std::string_view(text), made->get()).ok() &&
        (*made)->Finish(&one).ok()) {
      auto scalar = one->GetScalar(0);
      if (scalar.ok()) return *scalar;
    }
    Warn("the default '" + text + "' of an added column does not read as " + type.delta +
         "; the rows that existed get NULL");
    return nullptr;
  }

  // Whether every value of `from` is exactly a value of `to` (a MODIFY COLUMN the lake follows
  // by casting its rows): wider integers and decimals, FLOAT to DOUBLE, DATE to DATETIME,
  // integers and decimals to text, text to bytes.
  static bool Widens(const LakeType& from, const LakeType& to) {
    const auto& f = *from.arrow;
    const auto& t = *to.arrow;
    if (f.Equals(t)) return true;
    auto int_digits = [](const arrow::DataType& d) {
      switch (d.id()) {
        case arrow::Type::INT8:
          return 3;
        case arrow::Type::INT16:
          return 5;
        case arrow::Type::INT32:
          return 10;
        case arrow::Type::INT64:
          return 19;
        default:
          return 0;
      }
    };
    const int fd = int_digits(f);
    if (fd > 0 && int_digits(t) > 0) return int_digits(t) >= fd;
    if (t.id() == arrow::Type::DECIMAL128) {
      const auto& td = static_cast<const arrow::Decimal128Type&>(t);
      if (fd > 0) return td.precision() - td.scale() >= fd;
      if (f.id() == arrow::Type::DECIMAL128) {
        const auto& dd = static_cast<const arrow::Decimal128Type&>(f);
        return td.scale() >= dd.scale() &&
               td.precision() - td.scale() >= dd.precision() - dd.scale();
      }
      return false;
    }
    if (f.id() == arrow::Type::FLOAT && t.id() == arrow::Type::DOUBLE) return true;
    if (f.id() == arrow::Type::DATE32 && to.kind == ValueKind::kTimestampNtz) return true;
    if (t.id() == arrow::Type::STRING) return fd > 0 || f.id() == arrow::Type::DECIMAL128;
    if (t.id() == arrow::Type::BINARY) return f.id() == arrow::Type::STRING;
    return false;
  }

  void Info(const std::string& m) {
    if (o_.info) {
      o_.info(m);
    } else {
      log::Info(m);
    }
  }

  const ApplyOptions& o_;
  ApplyStats* stats_;
};

// The lake table's side of LoadToApply: its LOAD identity and txn version.
LakeTableState LakeState(const DeltaSnapshot& snap, const std::string& app_id) {
  LakeTableState s;
  s.exists = snap.version >= 0;
  auto load = snap.configuration.find("binlake.load");
  if (load != snap.configuration.end()) s.load_id = load->second;
  auto txn = snap.txns.find(app_id);
  if (txn != snap.txns.end()) s.applied = txn->second;
  return s;
}

}  // namespace

Result<ApplyStats> ApplyFiles(const ApplyOptions& options, const std::vector<std::string>& files) {
  if (options.format == LakeFormat::kCsv) return ApplyCsvFiles(options, files);
  if (options.lake.empty()) return Status::InvalidArgument("the lake folder is required (--lake)");
  if (options.buckets < 0)
    return Status::InvalidArgument("buckets must be at least 1 (0: automatic)");
  ApplyStats stats;
  Applier applier(options, &stats);
  BL_ASSIGN_OR_RETURN(auto staged, GroupStagedFiles(options, files));
  if (staged.empty()) return stats;
  BL_ASSIGN_OR_RETURN(std::shared_ptr<store::ObjectStore> lake,
                      store::OpenStore(options.lake, options.stores));
  for (const auto& st : staged) {
    Table t;
    t.st = &st;
    t.schema = st.schema;
    t.table = st.table;
    t.lake = LakeTableStore(lake, st.schema, st.table);
    t.dir = t.lake->uri();
    BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(*t.lake));
    if (snap.version >= 0 && !snap.configuration.count("binlake.buckets") && !st.AnyLoadAsked()) {
      // Another engine's table: only an explicit full load (its LOAD files) replaces it.
      return Status::NotSupported(t.dir +
                                  " was not written by binlake (no binlake.buckets in its "
                                  "metaData): move that table away or use another lake path");
    }
    BL_ASSIGN_OR_RETURN(auto load, LoadToApply(st, LakeState(snap, AppId(t))));
    if (load) {
      BL_RETURN_IF_ERROR(applier.ApplyLoad(&t, *load));
      BL_ASSIGN_OR_RETURN(snap, ReadDeltaLog(*t.lake));
    } else if (st.AnyLoadAsked()) {
      stats.skipped++;  // the lake has this load
    }
    // Files up to the table's txn version are applied: leave them out here rather than replay
    // the log once per earlier file (ApplyCdc still checks each one against a fresh snapshot).
    const int64_t applied = LakeState(snap, AppId(t)).applied;
    int skipped = 0;
    BL_ASSIGN_OR_RETURN(auto cdc, ChangeFilesUpTo(st, applied, &skipped));
    stats.skipped += skipped;
    auto last = std::chrono::steady_clock::now();
    for (size_t i = 0; i < cdc.size(); i++) {
      BL_RETURN_IF_ERROR(applier.ApplyCdc(&t, cdc[i].second, cdc[i].first));
      const auto now = std::chrono::steady_clock::now();
      if (options.progress && cdc.size() > 1 && now - last >= std::chrono::milliseconds(200)) {
        last = now;
        options.progress(log::Bar(static_cast<double>(i + 1) / static_cast<double>(cdc.size())) +
                         " apply " + t.schema + "." + t.table + ": " + std::to_string(i + 1) + "/" +
                         std::to_string(cdc.size()) + " change files");
      }
    }
  }
  return stats;
}

Result<std::vector<std::string>> PendingFiles(const ApplyOptions& options,
                                              const std::vector<std::string>& files) {
  std::vector<std::string> out;
  BL_ASSIGN_OR_RETURN(auto staged, GroupStagedFiles(options, files));
  if (staged.empty()) return out;
  BL_ASSIGN_OR_RETURN(std::shared_ptr<store::ObjectStore> lake,
                      store::OpenStore(options.lake, options.stores));
  std::set<std::string> pending;  // schema/table/name
  for (const auto& st : staged) {
    auto table = LakeTableStore(lake, st.schema, st.table);
    BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(*table));
    // As ApplyFiles: a load to apply first makes its after_sequence the applied sequence.
    const LakeTableState state = LakeState(snap, "binlake:" + st.schema + "." + st.table);
    BL_ASSIGN_OR_RETURN(auto load, LoadToApply(st, state));
    const int64_t applied = load ? static_cast<int64_t>(load->after_sequence) : state.applied;
    for (const auto& name : st.names) {
      auto seq = SequenceOfName(name);
      if (seq ? static_cast<int64_t>(*seq) > applied : load.has_value()) {
        pending.insert(st.Key(name));
      }
    }
  }
  for (const auto& f : files) {
    // The caller's spelling, in the caller's order: match by the last three path parts.
    size_t cut = f.size();
    for (int parts = 0; parts < 3 && cut != std::string::npos && cut > 0; parts++) {
      cut = f.rfind('/', cut - 1);
    }
    const std::string key = cut == std::string::npos ? f : f.substr(cut + 1);
    if (pending.count(key)) out.push_back(f);
  }
  return out;
}

}  // namespace binlake::lake
