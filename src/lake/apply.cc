// Applying staged CSV files to bucketed Delta tables: LOAD rebuilds, change files merge once.
#include <arrow/io/file.h>
#include <dirent.h>
#include <fcntl.h>
#include <parquet/arrow/writer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/csv_lake.h"
#include "lake/lake.h"
#include "lake/lake_internal.h"
#include "staging/files.h"
#include "staging/records.h"

namespace binlake::lake {
namespace {

using Cells = std::vector<std::optional<std::string>>;
using json = nlohmann::json;

struct Row {
  char op = 'I';
  Cells cells;
};

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Check(const arrow::Status& s, const std::string& where) {
  return s.ok() ? Status::Ok() : Status::Internal(where + ": arrow: " + s.ToString());
}

// One lake table and the staging schema version its rows follow.
struct Table {
  std::string staging_root, schema, table, dir;
  staging::TableSchema ts;
  int schema_version = 0;
  std::vector<LakeType> types;
  std::shared_ptr<arrow::Schema> arrow_schema;
  std::vector<int> key;  // column indexes of the key (all columns without a primary key)
  bool has_pk = false;
  int buckets = 16;
};

Status InitTable(const ApplyOptions& o, int version, Table* t) {
  BL_ASSIGN_OR_RETURN(t->ts, staging::ReadSchema(t->staging_root, t->schema, t->table, version));
  t->schema_version = version;
  t->types.clear();
  arrow::FieldVector fields;
  std::vector<std::pair<int, int>> pk;
  for (size_t i = 0; i < t->ts.columns.size(); i++) {
    const auto& c = t->ts.columns[i];
    BL_ASSIGN_OR_RETURN(auto type, MapColumn(c));
    fields.push_back(arrow::field(c.name, type.arrow, true));
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

std::string SparkSchema(const Table& t) {
  json fields = json::array();
  for (size_t i = 0; i < t.types.size(); i++) {
    fields.push_back({{"name", t.ts.columns[i].name},
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

// Reads a staging CSV into rows (op, cells), dropping the timestamp column.
Status ReadRows(const ApplyOptions& o, const Table& t, const std::string& path, bool load,
                std::vector<Row>* rows) {
  BL_ASSIGN_OR_RETURN(auto data, staging::ReadWholeFile(path));
  const bool has_op = !load || o.csv.include_op_for_full_load;
  const bool has_ts = !o.csv.timestamp_column.empty();
  const size_t n = t.ts.columns.size();
  const size_t lead = (has_op ? 1 : 0) + (has_ts ? 1 : 0);
  staging::CsvReader reader(data, o.csv, lead + n);
  Cells fields;
  bool first = true;
  while (reader.Next(&fields)) {
    if (first && o.csv.header) {
      first = false;
      continue;
    }
    first = false;
    Row r;
    if (has_op) {
      if (!fields[0] || fields[0]->size() != 1 ||
          std::string("IUD").find((*fields[0])[0]) == std::string::npos) {
        return Status::Corruption(path + ":" + std::to_string(reader.line()) +
                                  ": the Op field is not I, U or D");
      }
      r.op = (*fields[0])[0];
    }
    r.cells.assign(std::make_move_iterator(fields.begin() + static_cast<long>(lead)),
                   std::make_move_iterator(fields.end()));
    rows->push_back(std::move(r));
  }
  if (!reader.status().ok()) return reader.status().WithContext(path);
  return Status::Ok();
}

int RowBucket(const Table& t, const Row& r) {
  static const std::string kNull("\x01NULL");
  std::vector<std::string_view> k;
  k.reserve(t.key.size());
  for (int i : t.key) k.emplace_back(r.cells[i] ? std::string_view(*r.cells[i]) : kNull);
  return BucketOf(k, t.buckets);
}

Result<std::shared_ptr<arrow::Table>> BuildTable(const Table& t, const std::string& origin,
                                                 const std::vector<const Row*>& rows) {
  arrow::ArrayVector arrays;
  for (size_t c = 0; c < t.types.size(); c++) {
    auto b = arrow::MakeBuilder(t.types[c].arrow);
    if (!b.ok()) return Status::Internal(b.status().ToString());
    for (const Row* r : rows) {
      Status st = AppendValue(t.types[c], r->cells[c], b->get());
      if (!st.ok()) return st.WithContext(origin + " column " + t.ts.columns[c].name);
    }
    std::shared_ptr<arrow::Array> a;
    BL_RETURN_IF_ERROR(Check((*b)->Finish(&a), origin));
    arrays.push_back(std::move(a));
  }
  return arrow::Table::Make(t.arrow_schema, arrays, static_cast<int64_t>(rows.size()));
}

template <typename T>
struct Tag {
  using type = T;
};

// The Delta stats JSON of one data file (min/max skip decimal and binary: no exact JSON form).
std::string Stats(const Table& t, const arrow::Table& data) {
  json mins = json::object(), maxs = json::object(), nulls = json::object();
  for (int c = 0; c < data.num_columns(); c++) {
    const std::string& name = t.ts.columns[c].name;
    const auto& col = *data.column(c);
    nulls[name] = col.null_count();
    const ValueKind kind = t.types[c].kind;
    std::optional<json> lo, hi;
    auto num = [&](auto tag) {
      using ArrT = typename decltype(tag)::type;
      for (const auto& chunk : col.chunks()) {
        const auto& a = static_cast<const ArrT&>(*chunk);
        for (int64_t i = 0; i < a.length(); i++) {
          if (a.IsNull(i)) continue;
          const auto v = a.Value(i);
          if constexpr (std::is_floating_point_v<decltype(v)>) {
            if (std::isnan(v)) continue;
          }
          if (!lo || v < lo->template get<decltype(v)>()) lo = v;
          if (!hi || v > hi->template get<decltype(v)>()) hi = v;
        }
      }
    };
    switch (t.types[c].arrow->id()) {
      case arrow::Type::INT8:
        num(Tag<arrow::Int8Array>{});
        break;
      case arrow::Type::INT16:
        num(Tag<arrow::Int16Array>{});
        break;
      case arrow::Type::INT32:
        num(Tag<arrow::Int32Array>{});
        break;
      case arrow::Type::INT64:
        num(Tag<arrow::Int64Array>{});
        break;
      case arrow::Type::FLOAT:
        num(Tag<arrow::FloatArray>{});
        break;
      case arrow::Type::DOUBLE:
        num(Tag<arrow::DoubleArray>{});
        break;
      case arrow::Type::DATE32:
        num(Tag<arrow::Date32Array>{});
        if (lo) lo = FormatDate(lo->get<int32_t>()), hi = FormatDate(hi->get<int32_t>());
        break;
      case arrow::Type::TIMESTAMP:
        num(Tag<arrow::TimestampArray>{});
        if (lo) {
          const char* z = kind == ValueKind::kTimestamp ? "Z" : "";
          lo = FormatMicros(lo->get<int64_t>()) + z;
          hi = FormatMicros(hi->get<int64_t>()) + z;
        }
        break;
      case arrow::Type::STRING: {
        std::optional<std::string_view> l, h;
        for (const auto& chunk : col.chunks()) {
          const auto& a = static_cast<const arrow::StringArray&>(*chunk);
          for (int64_t i = 0; i < a.length(); i++) {
            if (a.IsNull(i)) continue;
            const auto v = a.GetView(i);
            if (!l || v < *l) l = v;
            if (!h || v > *h) h = v;
          }
        }
        // Long strings: a prefix is still a lower bound; an upper bound is omitted.
        if (l) {
          size_t cut = std::min<size_t>(l->size(), 32);
          while (cut < l->size() && (static_cast<unsigned char>((*l)[cut]) & 0xC0) == 0x80) cut--;
          lo = std::string(l->substr(0, cut));
          if (h->size() <= 32) hi = std::string(*h);
        }
        break;
      }
      default:
        break;
    }
    if (lo) mins[name] = *lo;
    if (hi) maxs[name] = *hi;
  }
  return json{{"numRecords", data.num_rows()},
              {"minValues", mins},
              {"maxValues", maxs},
              {"nullCount", nulls}}
      .dump();
}

// Writes one bucket's Parquet file; returns its `add` action.
Result<std::string> WriteBucket(const Table& t, int bucket, const arrow::Table& data) {
  char dir[32];
  std::snprintf(dir, sizeof(dir), "bucket=%04d", bucket);
  const std::string rel = std::string(dir) + "/part-" + NewUuid() + ".parquet";
  BL_RETURN_IF_ERROR(staging::MakeDirs(staging::JoinPath(t.dir, dir)));
  const std::string path = staging::JoinPath(t.dir, rel);
  auto out = arrow::io::FileOutputStream::Open(path);
  if (!out.ok()) return Status::IOError("cannot create " + path + ": " + out.status().ToString());
  auto props =
      parquet::WriterProperties::Builder().compression(parquet::Compression::ZSTD)->build();
  BL_RETURN_IF_ERROR(Check(
      parquet::arrow::WriteTable(data, arrow::default_memory_pool(), *out, 1 << 20, props), path));
  BL_RETURN_IF_ERROR(Check((*out)->Close(), path));
  // The file must be durable before a log entry names it.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    return Status::IOError("cannot fsync " + path);
  }
  close(fd);
  struct stat st {};
  stat(path.c_str(), &st);
  return json{{"add",
               {{"path", rel},
                {"partitionValues", json::object()},
                {"size", static_cast<int64_t>(st.st_size)},
                {"modificationTime", NowMillis()},
                {"dataChange", true},
                {"stats", Stats(t, data)}}}}
      .dump();
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

int BucketOfPath(const std::string& path) {
  int b = -1;
  if (std::sscanf(path.c_str(), "bucket=%d/", &b) != 1) return -1;
  return b;
}

std::vector<std::string> ListCsv(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n[0] != '.' && n.compare(n.size() - 4, 4, ".csv") == 0) {
        names.push_back(n);
      }
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Applier {
 public:
  Applier(const ApplyOptions& o, ApplyStats* stats) : o_(o), stats_(stats) {}

  void Warn(const std::string& m) {
    if (o_.warn) {
      o_.warn(m);
    } else {
      std::fprintf(stderr, "binlake: warning: %s\n", m.c_str());
    }
  }

  Status Commit(Table* t, int64_t version, const std::vector<std::string>& actions, bool* won) {
    BL_ASSIGN_OR_RETURN(*won, TryCommitDelta(t->dir, version, actions));
    if (*won) stats_->commits++;
    // The commit stands either way: a failed checkpoint only leaves readers more log to replay.
    if (*won) {
      Status cp = MaybeCheckpoint(t->dir, version, o_.checkpoints);
      if (!cp.ok()) Warn("checkpoint of " + t->dir + ": " + cp.message());
    }
    return Status::Ok();
  }

  // Rebuilds the table from all its LOAD files.
  Status ApplyLoad(Table* t) {
    const std::string sdir = staging::TableDir(t->staging_root, t->schema, t->table);
    std::vector<std::string> loads;
    std::string load_id;
    int version = 0;
    for (const auto& n : ListCsv(sdir)) {
      if (!staging::IsLoadFileName(n)) continue;
      BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t->staging_root, t->schema, t->table, n));
      loads.push_back(n);
      load_id += m.sha256.substr(0, 16);
      version = m.schema_version;
    }
    if (loads.empty()) return Status::NotFound("no LOAD files in " + sdir);
    for (int attempt = 0; attempt < 5; attempt++) {
      BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(t->dir));
      auto it = snap.configuration.find("binlake.load");
      if (it != snap.configuration.end() && it->second == load_id) {
        stats_->skipped++;
        return Status::Ok();
      }
      t->buckets = o_.buckets;
      BL_RETURN_IF_ERROR(InitTable(o_, version, t));
      std::vector<Row> rows;
      for (const auto& n : loads) {
        BL_RETURN_IF_ERROR(ReadRows(o_, *t, staging::JoinPath(sdir, n), true, &rows));
      }
      std::map<int, std::vector<const Row*>> by_bucket;
      for (const auto& r : rows) by_bucket[RowBucket(*t, r)].push_back(&r);
      std::vector<std::string> actions;
      TableHeader(*t, snap, load_id, &actions);
      for (const auto& [path, size] : snap.files) actions.push_back(RemoveAction(path, size));
      int added = 0;
      for (const auto& [b, brows] : by_bucket) {
        BL_ASSIGN_OR_RETURN(auto data, BuildTable(*t, sdir + "/LOAD", brows));
        BL_ASSIGN_OR_RETURN(auto add, WriteBucket(*t, b, *data));
        actions.push_back(std::move(add));
        added++;
      }
      actions.push_back(TxnAction(*t, 0));
      actions.push_back(CommitInfo(snap.version < 0 ? "CREATE TABLE AS SELECT" : "WRITE"));
      bool won = false;
      BL_RETURN_IF_ERROR(Commit(t, snap.version + 1, actions, &won));
      if (won) {
        stats_->files_added += added;
        stats_->files_removed += static_cast<int>(snap.files.size());
        stats_->rows_written += rows.size();
        return Status::Ok();
      }
    }
    return Status::IOError(t->dir + ": lost 5 commit races in a row; retry the apply");
  }

  // Merges one change file; skipped when the table's txn already has its sequence.
  Status ApplyCdc(Table* t, const std::string& name, const staging::FileManifest& m) {
    const std::string path =
        staging::JoinPath(staging::TableDir(t->staging_root, t->schema, t->table), name);
    for (int attempt = 0; attempt < 5; attempt++) {
      BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(t->dir));
      auto txn = snap.txns.find(AppId(*t));
      if (txn != snap.txns.end() && txn->second >= static_cast<int64_t>(m.sequence)) {
        stats_->skipped++;
        return Status::Ok();
      }
      std::vector<std::string> actions;
      if (snap.version < 0) {
        t->buckets = o_.buckets;
        BL_RETURN_IF_ERROR(InitTable(o_, m.schema_version, t));
        TableHeader(*t, snap, "", &actions);
      } else {
        BL_RETURN_IF_ERROR(LoadTableState(snap, m.schema_version, t));
      }
      std::vector<Row> rows;
      BL_RETURN_IF_ERROR(ReadRows(o_, *t, path, false, &rows));
      std::map<int, std::vector<const Row*>> by_bucket;
      for (const auto& r : rows) by_bucket[RowBucket(*t, r)].push_back(&r);
      int added = 0, removed = 0;
      uint64_t written = 0;
      for (const auto& [b, brows] : by_bucket) {
        std::vector<std::shared_ptr<arrow::Table>> parts;
        for (const auto& [fpath, size] : snap.files) {
          if (BucketOfPath(fpath) != b) continue;
          BL_ASSIGN_OR_RETURN(auto old, ReadParquet(staging::JoinPath(t->dir, fpath)));
          parts.push_back(arrow::Table::Make(t->arrow_schema, old->columns(), old->num_rows()));
          actions.push_back(RemoveAction(fpath, size));
          removed++;
        }
        BL_ASSIGN_OR_RETURN(auto changes, BuildTable(*t, path, brows));
        BL_ASSIGN_OR_RETURN(auto merged, Merge(*t, path, parts, changes, brows));
        if (merged->num_rows() == 0) continue;
        BL_ASSIGN_OR_RETURN(auto add, WriteBucket(*t, b, *merged));
        actions.push_back(std::move(add));
        added++;
        written += static_cast<uint64_t>(merged->num_rows());
      }
      actions.push_back(TxnAction(*t, static_cast<int64_t>(m.sequence)));
      actions.push_back(CommitInfo("MERGE"));
      bool won = false;
      BL_RETURN_IF_ERROR(Commit(t, snap.version + 1, actions, &won));
      if (won) {
        stats_->files_added += added;
        stats_->files_removed += removed;
        stats_->rows_written += written;
        return Status::Ok();
      }
    }
    return Status::IOError(t->dir + ": lost 5 commit races in a row; retry the apply");
  }

 private:
  // The table's own bucket count and schema; a different schema version must have equal columns.
  Status LoadTableState(const DeltaSnapshot& snap, int file_version, Table* t) {
    auto b = snap.configuration.find("binlake.buckets");
    auto v = snap.configuration.find("binlake.schemaVersion");
    if (b == snap.configuration.end() || v == snap.configuration.end()) {
      return Status::NotSupported(t->dir + " was not written by binlake (no binlake.buckets)");
    }
    t->buckets = std::max(1, std::atoi(b->second.c_str()));
    const int table_version = std::atoi(v->second.c_str());
    BL_RETURN_IF_ERROR(InitTable(o_, table_version, t));
    if (file_version != table_version) {
      BL_ASSIGN_OR_RETURN(auto other,
                          staging::ReadSchema(t->staging_root, t->schema, t->table, file_version));
      if (other.columns != t->ts.columns) {
        return Status::NotSupported(t->schema + "." + t->table + ": schema change (version " +
                                    std::to_string(file_version) +
                                    ") — coming with schema evolution");
      }
    }
    return Status::Ok();
  }

  static std::string KeyOf(const Table& t, const arrow::Table& data, int64_t row) {
    std::string k;
    for (int c : t.key) {
      auto s = data.column(c)->GetScalar(row);
      k += s.ok() && (*s)->is_valid ? "v" + (*s)->ToString() : std::string("n");
      k.push_back('\x1f');
    }
    return k;
  }

  Result<std::shared_ptr<arrow::Table>> Merge(const Table& t, const std::string& origin,
                                              std::vector<std::shared_ptr<arrow::Table>> parts,
                                              const std::shared_ptr<arrow::Table>& changes,
                                              const std::vector<const Row*>& rows) {
    int64_t n_old = 0;
    for (const auto& p : parts) n_old += p->num_rows();
    parts.push_back(changes);
    auto all = arrow::ConcatenateTables(parts);
    if (!all.ok()) return Status::Corruption(t.dir + ": a data file has another schema");
    auto combined = (*all)->CombineChunks();
    if (!combined.ok()) return Status::Internal(combined.status().ToString());
    const arrow::Table& c = **combined;
    std::map<std::string, std::vector<int64_t>> live;
    for (int64_t i = 0; i < n_old; i++) live[KeyOf(t, c, i)].push_back(i);
    for (size_t j = 0; j < rows.size(); j++) {
      const int64_t idx = n_old + static_cast<int64_t>(j);
      const std::string key = KeyOf(t, c, idx);
      auto it = live.find(key);
      const char op = rows[j]->op;
      if (op == 'D') {
        if (it == live.end()) {
          Warn(origin + ": delete of a missing row (key " + key + ")");
          continue;
        }
        it->second.pop_back();
        if (it->second.empty()) live.erase(it);
      } else if (!t.has_pk) {
        live[key].push_back(idx);
      } else {
        if (op == 'I' && it != live.end()) {
          Warn(origin + ": insert of an existing key " + key + "; the new row wins");
        } else if (op == 'U' && it == live.end()) {
          Warn(origin + ": update of a missing key " + key + "; inserted");
        }
        live[key] = {idx};
      }
    }
    arrow::ArrayVector out;
    for (int col = 0; col < c.num_columns(); col++) {
      auto b = arrow::MakeBuilder(t.types[col].arrow);
      if (!b.ok()) return Status::Internal(b.status().ToString());
      const arrow::ArraySpan span(*c.column(col)->chunk(0)->data());
      for (const auto& [key, idxs] : live) {
        for (int64_t i : idxs)
          BL_RETURN_IF_ERROR(Check((*b)->AppendArraySlice(span, i, 1), origin));
      }
      std::shared_ptr<arrow::Array> a;
      BL_RETURN_IF_ERROR(Check((*b)->Finish(&a), origin));
      out.push_back(std::move(a));
    }
    const int64_t n = out.empty() ? 0 : out[0]->length();
    return arrow::Table::Make(t.arrow_schema, out, n);
  }

  const ApplyOptions& o_;
  ApplyStats* stats_;
};

}  // namespace

Result<ApplyStats> ApplyFiles(const ApplyOptions& options, const std::vector<std::string>& files) {
  if (options.format == LakeFormat::kCsv) return ApplyCsvFiles(options, files);
  if (options.lake.empty()) return Status::InvalidArgument("the lake folder is required (--lake)");
  if (options.buckets < 1) return Status::InvalidArgument("buckets must be at least 1");
  ApplyStats stats;
  Applier applier(options, &stats);
  // "<root>\0<schema>\0<table>" -> requested names
  std::map<std::string, std::set<std::string>> by_table;
  for (const auto& f : files) {
    const size_t s3 = f.rfind('/');
    const size_t s2 = s3 == std::string::npos || s3 == 0 ? std::string::npos : f.rfind('/', s3 - 1);
    const size_t s1 = s2 == std::string::npos || s2 == 0 ? std::string::npos : f.rfind('/', s2 - 1);
    if (s2 == std::string::npos || f.size() < 4 || f.compare(f.size() - 4, 4, ".csv") != 0) {
      return Status::InvalidArgument(f +
                                     " is not a staging file <staging>/<schema>/<table>/NAME.csv");
    }
    std::string root = options.staging;
    if (root.empty()) root = s1 == std::string::npos ? "." : f.substr(0, s1);
    const std::string schema =
        f.substr(s1 == std::string::npos ? 0 : s1 + 1, s2 - (s1 == std::string::npos ? 0 : s1 + 1));
    const std::string table = f.substr(s2 + 1, s3 - s2 - 1);
    by_table[root + '\0' + schema + '\0' + table].insert(f.substr(s3 + 1));
  }
  for (const auto& [id, names] : by_table) {
    Table t;
    const size_t a = id.find('\0'), b = id.find('\0', a + 1);
    t.staging_root = id.substr(0, a);
    t.schema = id.substr(a + 1, b - a - 1);
    t.table = id.substr(b + 1);
    t.dir = staging::JoinPath(staging::JoinPath(options.lake, t.schema), t.table);
    const std::string sdir = staging::TableDir(t.staging_root, t.schema, t.table);
    const bool any_load = std::any_of(names.begin(), names.end(), [](const std::string& n) {
      return staging::IsLoadFileName(n);
    });
    BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(t.dir));
    const auto all = ListCsv(sdir);
    const bool staged_load = std::any_of(
        all.begin(), all.end(), [](const std::string& n) { return staging::IsLoadFileName(n); });
    if (any_load || (snap.version < 0 && staged_load)) BL_RETURN_IF_ERROR(applier.ApplyLoad(&t));
    // Change files up to the newest one asked for, in sequence order: a late trigger of an
    // earlier file never leaves a gap behind a later one.
    std::vector<std::pair<staging::FileManifest, std::string>> cdc;
    uint64_t target = 0;
    for (const auto& n : names) {
      if (staging::IsLoadFileName(n)) continue;
      BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t.staging_root, t.schema, t.table, n));
      target = std::max(target, m.sequence);
    }
    if (target == 0) continue;
    for (const auto& n : all) {
      if (staging::IsLoadFileName(n)) continue;
      BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t.staging_root, t.schema, t.table, n));
      if (m.sequence <= target) cdc.emplace_back(std::move(m), n);
    }
    std::sort(cdc.begin(), cdc.end(),
              [](const auto& x, const auto& y) { return x.first.sequence < y.first.sequence; });
    // The files the table's txn already covers are skipped after one log read, not one each.
    BL_ASSIGN_OR_RETURN(auto now, ReadDeltaLog(t.dir));
    const auto done = now.txns.find(AppId(t));
    for (const auto& [m, n] : cdc) {
      if (done != now.txns.end() && done->second >= static_cast<int64_t>(m.sequence)) {
        stats.skipped++;
        continue;
      }
      BL_RETURN_IF_ERROR(applier.ApplyCdc(&t, n, m));
    }
  }
  return stats;
}

}  // namespace binlake::lake
