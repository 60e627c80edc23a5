// binlake verify: the source (one snapshot, SELECT streamed, canonical text mapped to Arrow by the
// lake's own code) and the lake (the Parquet files of the latest Delta version, streamed) reduced
// to one checksum per bucket; only the buckets that differ are compared row by row, by key.
#include "verify/verify.h"

#include <parquet/arrow/reader.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <thread>
#include <unordered_map>

#include "lake/lake.h"
#include "util/files.h"
#include "verify/rows.h"

namespace binlake::verify {
namespace {

using Clock = std::chrono::steady_clock;
using Arrays = std::vector<std::shared_ptr<arrow::Array>>;
// Receives rows a batch at a time: the columns in the table's order and each row's bucket.
using BatchFn = std::function<Status(const Arrays& columns, const std::vector<int>& buckets)>;

constexpr size_t kBatchRows = 4096;
constexpr size_t kBatchBytes = size_t{16} << 20;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One table on both sides.
struct TableWork {
  TableReport report;
  std::optional<staging::TableSchema> source;
  std::vector<lake::LakeType> source_types;             // the lake's mapping of the source columns
  std::vector<std::shared_ptr<arrow::DataType>> types;  // their Arrow types (decode the keys)
  std::vector<int> key;  // column indexes: the primary key in order; all columns without one
  bool has_pk = false;
  std::optional<lake::DeltaSnapshot> lake;
  std::shared_ptr<store::ObjectStore> lake_store;  // the lake table's store
  std::string lake_dir;                            // its URI (messages)
  std::vector<std::string> lake_columns;           // names in the Delta schema's order
  std::shared_ptr<arrow::Schema> lake_schema;      // their Arrow types; null: read as stored
  bool bucketed = false;                           // binlake.buckets is set: bucket=NNNN folders
  int buckets = 1;
  bool comparable = false;  // both sides with the same columns: rows compare by key
  bool diffed = false;      // pass 2 ran already (files outside the bucket folders)
  // Per bucket; the extra last slot holds lake files outside the bucket folders.
  std::vector<Checksum> source_sums, lake_sums;

  std::string name() const { return report.schema + "." + report.table; }
};

// The snapshot streams canonical rows into a LoadWriter; this one maps them to Arrow values with
// the lake's own code (lake::AppendValue) and hands them on a batch at a time, instead of writing.
class SourceRows : public staging::LoadWriter {
 public:
  SourceRows(const TableWork& t, const std::set<int>* only, BatchFn fn)
      : t_(t), only_(only), fn_(std::move(fn)), text_(t.source_types.size()) {}

  Status Init() {
    for (const auto& type : t_.source_types) {
      auto b = arrow::MakeBuilder(type.arrow);
      if (!b.ok()) return Status::Internal("arrow: " + b.status().ToString());
      builders_.push_back(std::move(b).ValueOrDie());
    }
    return Status::Ok();
  }

  Status AppendRow(std::span<const staging::Cell> cells) override {
    if (cells.size() != builders_.size()) {
      return Status::Internal("source " + t_.name() + ": column count changed");
    }
    key_.clear();
    for (int k : t_.key) key_.push_back(cells[k].is_null ? lake::kNullKeyText : cells[k].text);
    const int bucket = lake::BucketOf(key_, t_.buckets);
    rows_++;
    if (only_ && only_->count(bucket) == 0) return Status::Ok();
    for (size_t c = 0; c < cells.size(); c++) {
      if (cells[c].is_null) {
        text_[c].reset();
      } else {
        if (!text_[c]) text_[c].emplace();
        text_[c]->assign(cells[c].text);
        bytes_ += cells[c].text.size();
      }
      Status st = lake::AppendValue(t_.source_types[c], text_[c], builders_[c].get());
      if (!st.ok()) {
        return st.WithContext("source " + t_.name() + " column " + t_.source->columns[c].name);
      }
    }
    buckets_.push_back(bucket);
    if (buckets_.size() >= kBatchRows || bytes_ >= kBatchBytes) return Flush();
    return Status::Ok();
  }

  Status Finish() override { return Flush(); }
  uint64_t rows() const override { return rows_; }

 private:
  Status Flush() {
    if (buckets_.empty()) return Status::Ok();
    Arrays columns;
    for (auto& b : builders_) {
      std::shared_ptr<arrow::Array> a;
      arrow::Status st = b->Finish(&a);
      if (!st.ok()) return Status::Internal("arrow: " + st.ToString());
      columns.push_back(std::move(a));
    }
    Status st = fn_(columns, buckets_);
    buckets_.clear();
    bytes_ = 0;
    return st;
  }

  const TableWork& t_;
  const std::set<int>* only_;
  BatchFn fn_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  std::vector<std::optional<std::string>> text_;  // per column, reused
  std::vector<std::string_view> key_;
  std::vector<int> buckets_;
  size_t bytes_ = 0;
  uint64_t rows_ = 0;
};

// The bucket of a data file from its folder (bucket=0003/...); `buckets` when outside them.
int BucketOfPath(const TableWork& t, const std::string& path) {
  if (!t.bucketed) return 0;
  int b = -1;
  char slash = 0;
  if (std::sscanf(path.c_str(), "bucket=%d%c", &b, &slash) != 2 || slash != '/' || b < 0 ||
      b >= t.buckets) {
    return t.buckets;
  }
  return b;
}

// Streams the rows of the table's active data files (only those in `only` buckets when given),
// one record batch at a time, columns in the Delta schema's order.
Status ReadLakeRows(const TableWork& t, const std::set<int>* only, const BatchFn& fn) {
  std::vector<int> buckets;
  for (const auto& [log_path, size] : t.lake->files) {
    BL_ASSIGN_OR_RETURN(const std::string path, lake::DataFileKey(log_path));
    const int bucket = BucketOfPath(t, path);
    if (only && only->count(bucket) == 0) continue;
    const std::string full = t.lake_dir + "/" + path;
    auto in = lake::OpenArrowInput(*t.lake_store, path);
    if (!in.ok()) {
      return in.status().WithContext("cannot open a file named by the Delta log");
    }
    auto reader = parquet::arrow::OpenFile(*in, arrow::default_memory_pool());
    if (!reader.ok()) return Status::Corruption(full + ": " + reader.status().ToString());
    auto batches = (*reader)->GetRecordBatchReader();
    if (!batches.ok()) return Status::Corruption(full + ": " + batches.status().ToString());
    std::vector<int> fields;
    for (const auto& name : t.lake_columns) {
      const int f = (*batches)->schema()->GetFieldIndex(name);
      if (f < 0)
        return Status::Corruption(full + " has no column " + name + " (see its Delta log)");
      fields.push_back(f);
    }
    for (;;) {
      std::shared_ptr<arrow::RecordBatch> batch;
      arrow::Status st = (*batches)->ReadNext(&batch);
      if (!st.ok()) return Status::Corruption(full + ": " + st.ToString());
      if (!batch) break;
      Arrays columns;
      if (t.lake_schema) {  // other writers' Arrow types read as the table's (lake::AlignBatch)
        BL_ASSIGN_OR_RETURN(batch, lake::AlignBatch(batch, t.lake_schema, full));
        columns = batch->columns();
      } else {
        for (int f : fields) columns.push_back(batch->column(f));
      }
      buckets.assign(static_cast<size_t>(batch->num_rows()), bucket);
      BL_RETURN_IF_ERROR(fn(columns, buckets));
    }
  }
  return Status::Ok();
}

// Row i's ordered bytes (rows.h) and where each column's bytes end.
Status EncodeRow(const TableWork& t, const Arrays& columns, int64_t i, std::string* row,
                 std::vector<size_t>* ends) {
  row->clear();
  ends->clear();
  for (size_t c = 0; c < columns.size(); c++) {
    Status st = AppendOrdered(*columns[c], i, row);
    if (!st.ok()) {  // only a lake file can hold a type the mapping does not make
      const std::string col =
          c < t.lake_columns.size() ? t.lake_columns[c] : "number " + std::to_string(c + 1);
      return st.WithContext(t.name() + " column " + col);
    }
    ends->push_back(row->size());
  }
  return Status::Ok();
}

// Pass 1: the checksum of each bucket.
BatchFn SumInto(const TableWork& t, std::vector<Checksum>* sums) {
  auto hasher = std::make_shared<RowHasher>();
  auto row = std::make_shared<std::string>();
  auto ends = std::make_shared<std::vector<size_t>>();
  return [&t, sums, hasher, row, ends](const Arrays& columns, const std::vector<int>& buckets) {
    for (size_t i = 0; i < buckets.size(); i++) {
      BL_RETURN_IF_ERROR(EncodeRow(t, columns, static_cast<int64_t>(i), row.get(), ends.get()));
      (*sums)[buckets[i]].Add(hasher->Hash(*row));
    }
    return Status::Ok();
  };
}

// Pass 2 over the differing buckets: the lake's rows by key, then the source's rows looked up.
class RowDiffer {
 public:
  RowDiffer(const TableWork& t, size_t max_diffs) : t_(t), max_(max_diffs) {}

  Status AddLake(const Arrays& columns, const std::vector<int>& buckets) {
    for (size_t i = 0; i < buckets.size(); i++) {
      BL_RETURN_IF_ERROR(EncodeRow(t_, columns, static_cast<int64_t>(i), &row_, &ends_));
      Entry& e = rows_[Key()];
      if (e.lake_copies++ > 0) continue;
      e.lake_bucket = buckets[i];
      if (t_.has_pk) {
        e.hash = hasher_.Hash(row_);
        e.columns = ColumnHashes();
      }
    }
    return Status::Ok();
  }

  Status AddSource(const Arrays& columns, const std::vector<int>& buckets) {
    for (size_t i = 0; i < buckets.size(); i++) {
      BL_RETURN_IF_ERROR(EncodeRow(t_, columns, static_cast<int64_t>(i), &row_, &ends_));
      std::string key = Key();
      if (!t_.has_pk) {  // the whole row is the key: count copies, compare at the end
        Entry& e = rows_[key];
        if (e.source_copies++ == 0) e.source_bucket = buckets[i];
        continue;
      }
      auto it = rows_.find(key);
      RowDiff d;
      d.source_copies = 1;
      if (it == rows_.end()) {
        d.kind = RowDiff::Kind::kMissingInLake;
        Report(std::move(key), std::move(d));
        continue;
      }
      const Entry& e = it->second;
      d.lake_copies = e.lake_copies;
      if (e.lake_copies > 1) {
        d.kind = RowDiff::Kind::kExtraInLake;
        Report(std::move(key), std::move(d));
      } else if (!(e.hash == hasher_.Hash(row_))) {
        d.kind = RowDiff::Kind::kValuesDiffer;
        const std::vector<uint64_t> mine = ColumnHashes();
        for (size_t c = 0; c < mine.size(); c++) {
          if (mine[c] != e.columns[c]) d.columns.push_back(t_.source->columns[c].name);
        }
        Report(std::move(key), std::move(d));
      } else if (e.lake_bucket != buckets[i] && e.lake_bucket != t_.buckets) {
        d.kind = RowDiff::Kind::kWrongBucket;
        d.lake_bucket = LakeBucket(e.lake_bucket);
        d.source_bucket = buckets[i];
        Report(std::move(key), std::move(d));
      }
      rows_.erase(it);
    }
    return Status::Ok();
  }

  // What is left: lake rows the source does not have; keyless copies that do not match.
  Status Finish(TableReport* report) {
    for (auto& [key, e] : rows_) {
      RowDiff d;
      d.source_copies = e.source_copies;
      d.lake_copies = e.lake_copies;
      if (e.source_copies != e.lake_copies) {
        d.kind = e.source_copies > e.lake_copies ? RowDiff::Kind::kMissingInLake
                                                 : RowDiff::Kind::kExtraInLake;
      } else if (e.lake_bucket != e.source_bucket && e.lake_bucket != t_.buckets) {
        d.kind = RowDiff::Kind::kWrongBucket;
        d.lake_bucket = LakeBucket(e.lake_bucket);
        d.source_bucket = e.source_bucket;
      } else {
        continue;
      }
      Report(key, std::move(d));
    }
    rows_.clear();
    report->differing_rows = found_;
    report->diffs.clear();
    for (auto& [key, d] : first_) {
      std::string_view in = key;
      for (int c : t_.key) {
        BL_ASSIGN_OR_RETURN(auto text, TakeOrderedText(*t_.types[c], &in));
        const std::string& name = t_.source->columns[c].name;
        d.key_text += (d.key_text.empty() ? "" : ", ") + name + "=" + Literal(*t_.types[c], text);
        d.key.emplace_back(name, std::move(text));
      }
      report->diffs.push_back(std::move(d));
    }
    return Status::Ok();
  }

 private:
  struct Entry {
    int64_t lake_copies = 0, source_copies = 0;
    int lake_bucket = -1, source_bucket = -1;
    RowHash hash;                   // the lake row (tables with a primary key)
    std::vector<uint64_t> columns;  // hash of each of its columns
  };

  // -1 for the slot of the files outside the bucket folders (other engines' files: their rows
  // may hold any key, so they are never in a wrong bucket).
  int LakeBucket(int slot) const { return slot == t_.buckets ? -1 : slot; }

  std::string_view Column(size_t c) const {
    const size_t begin = c == 0 ? 0 : ends_[c - 1];
    return std::string_view(row_).substr(begin, ends_[c] - begin);
  }

  // The key columns' bytes, in key order: sorts like the key (rows.h).
  std::string Key() const {
    if (!t_.has_pk) return row_;
    std::string key;
    for (int c : t_.key) key.append(Column(static_cast<size_t>(c)));
    return key;
  }

  std::vector<uint64_t> ColumnHashes() {
    std::vector<uint64_t> h(ends_.size());
    for (size_t c = 0; c < ends_.size(); c++) h[c] = hasher_.Hash(Column(c)).lo;
    return h;
  }

  // Keeps the first max_ differing rows by key; counts them all.
  void Report(std::string key, RowDiff d) {
    found_++;
    if (max_ == 0) return;
    if (first_.size() >= max_ && key >= first_.rbegin()->first) return;
    first_.emplace(std::move(key), std::move(d));
    if (first_.size() > max_) first_.erase(std::prev(first_.end()));
  }

  const TableWork& t_;
  size_t max_;
  RowHasher hasher_;
  std::string row_;
  std::vector<size_t> ends_;
  std::unordered_map<std::string, Entry> rows_;
  std::map<std::string, RowDiff> first_;
  uint64_t found_ = 0;
};

bool Selected(const VerifyOptions& o, const std::string& schema, const std::string& table) {
  if (!o.filter.Matches(schema, table)) return false;
  if (o.tables.empty()) return true;
  source::TableFilter narrow;
  narrow.include = o.tables;
  return narrow.Matches(schema, table);
}

// <schema>/<table>/_delta_log/ in the lake store.
Result<std::vector<std::pair<std::string, std::string>>> ListLakeTables(store::ObjectStore& lake) {
  std::set<std::pair<std::string, std::string>> found;
  store::ListOptions lo;
  BL_ASSIGN_OR_RETURN(auto objects, lake.List(lo));
  for (const auto& o : objects) {
    const size_t a = o.key.find('/');
    if (a == std::string::npos || a == 0 || o.key[0] == '.') continue;
    const size_t b = o.key.find('/', a + 1);
    if (b == std::string::npos || b == a + 1) continue;
    if (o.key.compare(b + 1, 11, "_delta_log/") != 0) continue;
    found.emplace(o.key.substr(0, a), o.key.substr(a + 1, b - a - 1));
  }
  return std::vector<std::pair<std::string, std::string>>(found.begin(), found.end());
}

// Reads the lake side's metadata and maps the source side's types; compares the two schemas.
Status Prepare(const std::shared_ptr<store::ObjectStore>& lake_root, TableWork* t) {
  t->lake_store = lake::LakeTableStore(lake_root, t->report.schema, t->report.table);
  t->lake_dir = t->lake_store->uri();
  if (t->source) {
    std::vector<std::pair<int, int>> pk;
    for (size_t i = 0; i < t->source->columns.size(); i++) {
      const auto& c = t->source->columns[i];
      auto type = lake::MapColumn(c);
      if (!type.ok()) return type.status().WithContext("source table " + t->name());
      t->types.push_back(type->arrow);
      t->source_types.push_back(std::move(type).value());
      if (c.pk_position >= 0) pk.emplace_back(c.pk_position, static_cast<int>(i));
    }
    std::sort(pk.begin(), pk.end());
    t->has_pk = !pk.empty();
    for (const auto& [pos, i] : pk) t->key.push_back(i);
    if (!t->has_pk) {
      for (size_t i = 0; i < t->types.size(); i++) t->key.push_back(static_cast<int>(i));
    }
  }
  {
    BL_ASSIGN_OR_RETURN(auto snap, lake::ReadDeltaLog(*t->lake_store));
    if (snap.version >= 0) t->lake = std::move(snap);
  }
  std::vector<std::string> lake_types;
  if (t->lake) {
    auto it = t->lake->configuration.find("binlake.buckets");
    if (it != t->lake->configuration.end()) {
      t->bucketed = true;
      t->buckets = std::max(1, std::atoi(it->second.c_str()));
    }
    const auto schema = nlohmann::json::parse(t->lake->schema_string, nullptr, false);
    if (schema.is_discarded() || !schema.contains("fields") || !schema["fields"].is_array()) {
      return Status::Corruption(t->lake_dir + ": the Delta schemaString is not a struct schema");
    }
    auto arrow_schema = lake::ArrowSchemaFromDelta(t->lake->schema_string);
    if (arrow_schema.ok()) t->lake_schema = *arrow_schema;
    for (const auto& f : schema["fields"]) {
      t->lake_columns.push_back(f.value("name", ""));
      lake_types.push_back(f.contains("type") && f["type"].is_string()
                               ? f["type"].get<std::string>()
                               : f["type"].dump());
    }
  }
  t->report.buckets = t->lake ? t->buckets : 0;
  t->source_sums.assign(static_cast<size_t>(t->buckets) + 1, Checksum{});
  t->lake_sums = t->source_sums;
  if (!t->source || !t->lake) return Status::Ok();  // MISSING: counted, not diffed
  // Same column names and Delta types, in the same order: the rows can be compared.
  auto& problems = t->report.problems;
  const auto& cols = t->source->columns;
  for (size_t i = 0; i < cols.size(); i++) {
    auto at = std::find(t->lake_columns.begin(), t->lake_columns.end(), cols[i].name);
    if (at == t->lake_columns.end()) {
      problems.push_back("column " + cols[i].name + " is not in the lake table");
      continue;
    }
    const std::string& lt = lake_types[static_cast<size_t>(at - t->lake_columns.begin())];
    if (lt != t->source_types[i].delta) {
      problems.push_back("column " + cols[i].name + " is " + t->source_types[i].delta +
                         " in the source (" + cols[i].mysql_type + ") but " + lt + " in the lake");
    }
  }
  // Columns the source dropped, kept at the end of the lake table ([lake] dropped_columns =
  // "keep"), are not compared.
  auto in_source = [&](const std::string& name) {
    return std::any_of(cols.begin(), cols.end(), [&](const auto& c) { return c.name == name; });
  };
  while (t->lake_columns.size() > cols.size() && !in_source(t->lake_columns.back())) {
    t->lake_columns.pop_back();
    lake_types.pop_back();
    if (t->lake_schema) {
      auto trimmed = t->lake_schema->RemoveField(t->lake_schema->num_fields() - 1);
      if (trimmed.ok()) t->lake_schema = *trimmed;
    }
  }
  for (const auto& name : t->lake_columns) {
    if (!in_source(name)) {
      problems.push_back("column " + name + " is in the lake table but not in the source");
    }
  }
  if (problems.empty()) {
    for (size_t i = 0; i < cols.size(); i++) {
      if (t->lake_columns[i] != cols[i].name) {
        problems.push_back("the columns are in another order in the lake table");
        break;
      }
    }
  }
  t->comparable = problems.empty();
  return Status::Ok();
}

Status Diffs(const VerifyOptions& o, source::Snapshot* snapshot, TableWork* t);

// Pass 1 of one table: both sides' bucket checksums (the lake read beside the source's SELECT).
// Rows in files outside the bucket folders (other engines' writes) may belong to any bucket:
// then the differing buckets and those files are compared by key at once (pass 2), and the table
// is equal when no row differs.
Status Checksums(const VerifyOptions& o, source::Snapshot* snapshot, TableWork* t) {
  Status lake_status;
  std::thread lake_reader;
  if (t->lake) {
    lake_reader = std::thread(
        [t, &lake_status] { lake_status = ReadLakeRows(*t, nullptr, SumInto(*t, &t->lake_sums)); });
  }
  Status source_status;
  if (t->source) {
    SourceRows rows(*t, nullptr, SumInto(*t, &t->source_sums));
    source_status = rows.Init();
    if (source_status.ok()) source_status = snapshot->LoadTable(*t->source, &rows, {}, nullptr);
    if (source_status.ok()) source_status = rows.Finish();
  }
  if (lake_reader.joinable()) lake_reader.join();
  BL_RETURN_IF_ERROR(source_status);
  BL_RETURN_IF_ERROR(lake_status);

  TableReport& r = t->report;
  Checksum source_total, lake_total;
  for (const auto& c : t->source_sums) source_total.Add(c);
  for (const auto& c : t->lake_sums) lake_total.Add(c);
  if (t->source) {
    r.source_rows = static_cast<int64_t>(source_total.rows);
    r.source_checksum = source_total.Hex();
  }
  if (t->lake) {
    r.lake_rows = static_cast<int64_t>(lake_total.rows);
    r.lake_checksum = lake_total.Hex();
  }
  if (t->source && !t->lake && source_total.rows == 0) {
    // The pipeline writes a lake table with its first row: both sides hold no rows.
    r.note = "the source table is empty and has no lake table yet";
    return Status::Ok();
  }
  if (!t->source && t->lake && lake_total.rows == 0) {
    // DROP TABLE empties the lake table (docs/lake.md "TRUNCATE, DROP and RENAME TABLE").
    r.note = "the source table does not exist and its lake table is empty (dropped)";
    return Status::Ok();
  }
  if (!t->source || !t->lake) {
    r.status = TableStatus::kMissing;
    return Status::Ok();
  }
  for (size_t b = 0; b < t->source_sums.size(); b++) {
    if (!(t->source_sums[b] == t->lake_sums[b])) r.differing_buckets.push_back(static_cast<int>(b));
  }
  r.status =
      r.problems.empty() && r.differing_buckets.empty() ? TableStatus::kOk : TableStatus::kDiff;
  const uint64_t outside = t->lake_sums.back().rows;
  if (outside > 0 && t->comparable && r.problems.empty()) {
    BL_RETURN_IF_ERROR(Diffs(o, snapshot, t));
    if (r.differing_rows == 0) {
      r.status = TableStatus::kOk;
      r.differing_buckets.clear();
      r.note = std::to_string(outside) +
               " rows are in files of other engines outside the bucket folders";
    }
  } else if (outside > 0 && r.problems.empty()) {
    r.problems.push_back(std::to_string(outside) +
                         " lake rows are in data files outside the bucket=NNNN folders");
    r.status = TableStatus::kDiff;
  }
  return Status::Ok();
}

// Pass 2 of one table: the rows of the differing buckets, by key.
Status Diffs(const VerifyOptions& o, source::Snapshot* snapshot, TableWork* t) {
  const std::set<int> only(t->report.differing_buckets.begin(), t->report.differing_buckets.end());
  t->diffed = true;
  RowDiffer differ(*t, o.max_diffs);
  BL_RETURN_IF_ERROR(ReadLakeRows(
      *t, &only, [&](const Arrays& c, const std::vector<int>& b) { return differ.AddLake(c, b); }));
  SourceRows rows(*t, &only, [&](const Arrays& c, const std::vector<int>& b) {
    return differ.AddSource(c, b);
  });
  BL_RETURN_IF_ERROR(rows.Init());
  BL_RETURN_IF_ERROR(snapshot->LoadTable(*t->source, &rows, {}, nullptr));
  BL_RETURN_IF_ERROR(rows.Finish());
  return differ.Finish(&t->report);
}

// One look at every selected table: a new source snapshot, the lake's latest versions.
struct Attempt {
  std::unique_ptr<source::Snapshot> snapshot;
  std::vector<TableWork> tables;
  bool equal() const {
    return std::all_of(tables.begin(), tables.end(),
                       [](const TableWork& t) { return t.report.status == TableStatus::kOk; });
  }
};

Result<Attempt> CompareChecksums(const VerifyOptions& o) {
  Attempt a;
  std::map<std::pair<std::string, std::string>, TableWork> works;
  {
    BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(o.connection));
    BL_ASSIGN_OR_RETURN(auto listed, source::ListTables(*client, o.filter));
    for (auto& s : listed) {
      if (!Selected(o, s.schema, s.table)) continue;
      TableWork& t = works[{s.schema, s.table}];
      t.report.schema = s.schema;
      t.report.table = s.table;
      t.source = std::move(s);
    }
  }
  BL_ASSIGN_OR_RETURN(std::shared_ptr<store::ObjectStore> lake_root,
                      store::OpenStore(o.lake, o.stores));
  BL_ASSIGN_OR_RETURN(auto lake_tables, ListLakeTables(*lake_root));
  for (const auto& [schema, table] : lake_tables) {
    if (!Selected(o, schema, table)) continue;
    TableWork& t = works[{schema, table}];
    t.report.schema = schema;
    t.report.table = table;
  }
  for (const auto& pattern : o.tables) {
    source::TableFilter one;
    one.include = {pattern};
    if (std::none_of(works.begin(), works.end(),
                     [&](const auto& w) { return one.Matches(w.first.first, w.first.second); })) {
      return Status::InvalidArgument("--table " + pattern +
                                     " matches no source or lake table that [capture] "
                                     "include/exclude selects");
    }
  }
  if (works.empty()) {
    return Status::InvalidArgument("no source or lake table is selected by [capture] " +
                                   std::string("include/exclude (check the config)"));
  }
  BL_ASSIGN_OR_RETURN(a.snapshot, source::Snapshot::Begin(o.connection));
  for (auto& [name, t] : works) {
    const auto start = Clock::now();
    BL_RETURN_IF_ERROR(Prepare(lake_root, &t));
    if (!t.source && !t.lake) continue;  // an empty _delta_log folder and no source table
    BL_RETURN_IF_ERROR(Checksums(o, a.snapshot.get(), &t));
    t.report.seconds = SecondsSince(start);
    a.tables.push_back(std::move(t));
  }
  return a;
}

}  // namespace

const char* TableStatusName(TableStatus status) {
  switch (status) {
    case TableStatus::kOk:
      return "OK";
    case TableStatus::kDiff:
      return "DIFF";
    case TableStatus::kMissing:
      return "MISSING";
  }
  return "?";
}

std::string RowDiff::Describe() const {
  auto copies = [this] {
    if (source_copies + lake_copies <= 1) return std::string();
    return " (" + std::to_string(source_copies) + " in the source, " + std::to_string(lake_copies) +
           " in the lake)";
  };
  switch (kind) {
    case Kind::kMissingInLake:
      return "missing in lake" + copies();
    case Kind::kExtraInLake:
      return "extra in lake" + copies();
    case Kind::kValuesDiffer: {
      if (columns.empty()) return "values differ";
      std::string out = "values differ in column" + std::string(columns.size() > 1 ? "s " : " ");
      for (size_t i = 0; i < columns.size(); i++) out += (i ? ", " : "") + columns[i];
      return out;
    }
    case Kind::kWrongBucket:
      return (lake_bucket < 0 ? std::string("in a lake file outside the bucket folders")
                              : "in lake bucket " + std::to_string(lake_bucket)) +
             ", but its key hashes to bucket " + std::to_string(source_bucket);
  }
  return "?";
}

bool VerifyReport::equal() const {
  return std::all_of(tables.begin(), tables.end(),
                     [](const TableReport& t) { return t.status == TableStatus::kOk; });
}

Result<VerifyReport> VerifyTables(const VerifyOptions& o) {
  if (o.lake.empty()) return Status::InvalidArgument("the lake folder is required ([lake] path)");
  BL_ASSIGN_OR_RETURN(auto lake_uri, store::ParseStoreUri(o.lake));
  struct stat st {};
  if (lake_uri.kind == store::StoreUri::Kind::kLocal &&
      (stat(lake_uri.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return Status::NotFound("lake folder " + o.lake +
                            " does not exist (check [lake] path, or run the pipeline first)");
  }
  const auto start = Clock::now();
  auto logged_at = start;
  int64_t logged_differ = -1;
  for (int attempt = 1;; attempt++) {
    BL_ASSIGN_OR_RETURN(Attempt a, CompareChecksums(o));
    const double waited_ms = SecondsSince(start) * 1000;
    if (a.equal() || waited_ms >= o.wait_ms) {
      VerifyReport report;
      report.attempts = attempt;
      report.source_position = a.snapshot->position().ToString();
      for (auto& t : a.tables) {
        if (t.report.status == TableStatus::kDiff && t.comparable && !t.diffed &&
            !t.report.differing_buckets.empty()) {
          const auto diff_start = Clock::now();
          BL_RETURN_IF_ERROR(Diffs(o, a.snapshot.get(), &t));
          t.report.seconds += SecondsSince(diff_start);
        }
        if (o.log && t.report.seconds >= 2) {
          char secs[32];
          std::snprintf(secs, sizeof(secs), "%.1f", t.report.seconds);
          o.log(t.name() + ": " + std::to_string(t.report.source_rows) + " source rows, " +
                std::to_string(t.report.lake_rows) + " lake rows in " + secs + " s");
        }
        report.tables.push_back(std::move(t.report));
      }
      return report;
    }
    const auto left = std::chrono::milliseconds(static_cast<int64_t>(o.wait_ms - waited_ms));
    const auto differ = std::count_if(a.tables.begin(), a.tables.end(), [](const TableWork& t) {
      return t.report.status != TableStatus::kOk;
    });
    // One line when the count of differing tables changes, else one every 5 s.
    if (o.log && (differ != logged_differ || Clock::now() - logged_at >= std::chrono::seconds(5))) {
      o.log(std::to_string(differ) + " of " + std::to_string(a.tables.size()) +
            " tables differ (attempt " + std::to_string(attempt) + "); retrying for up to " +
            std::to_string(left.count()) + " ms");
      logged_differ = differ;
      logged_at = Clock::now();
    }
    a.snapshot.reset();
    std::this_thread::sleep_for(
        std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(500)));
  }
}

}  // namespace binlake::verify
