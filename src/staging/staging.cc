// The staging store: LOAD files and CDC change files built in a local spool while rows arrive, then
// published as whole objects through the ObjectStore, and a flush protocol (intent, files,
// checkpoint) that a crash can replay byte for byte.
#include "staging/staging.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "staging/records.h"
#include "staging/staging_testing.h"
#include "util/files.h"

namespace binlake::staging {

namespace {

Status ValidateOptions(const CsvOptions& csv) {
  const char d = csv.delimiter;
  if (d == '"' || d == '\r' || d == '\n' || d == '\0') {
    return Status::InvalidArgument(
        "CSV delimiter cannot be a quote, CR, LF or NUL; choose another delimiter");
  }
  for (char ch : csv.null_value) {
    if (ch == d || ch == '"' || ch == '\r' || ch == '\n') {
      return Status::InvalidArgument("CSV null token '" + csv.null_value +
                                     "' holds the delimiter, a quote, CR or LF; choose another");
    }
  }
  if (csv.max_file_bytes == 0) {
    return Status::InvalidArgument("max_file_bytes is 0; set a positive file size");
  }
  return Status::Ok();
}

Status ValidateName(const char* what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos || name == kMetaDir) {
    return Status::InvalidArgument(std::string(what) + " name '" + name +
                                   "' cannot be a staging directory; exclude it from the capture");
  }
  return Status::Ok();
}

// The leading Op / timestamp cells and the table's cells as one CSV line.
void AppendRowLine(std::string_view op, const std::string* timestamp, std::span<const Cell> cells,
                   const CsvOptions& csv, std::vector<Cell>* scratch, std::string* out) {
  scratch->clear();
  if (!op.empty()) scratch->push_back(Cell{false, op});
  if (timestamp != nullptr) scratch->push_back(Cell{false, *timestamp});
  scratch->insert(scratch->end(), cells.begin(), cells.end());
  AppendCsvRecord(*scratch, csv, out);
  out->push_back('\n');
}

std::string HeaderLine(const TableSchema& schema, bool with_op, const CsvOptions& csv) {
  std::vector<std::string> names;
  if (with_op) names.emplace_back("Op");
  if (!csv.timestamp_column.empty()) names.push_back(csv.timestamp_column);
  for (const ColumnSchema& c : schema.columns) names.push_back(c.name);
  std::vector<Cell> cells;
  cells.reserve(names.size());
  for (const std::string& n : names) cells.push_back(Cell{false, n});
  std::string out;
  AppendCsvRecord(cells, csv, &out);
  out.push_back('\n');
  return out;
}

Status CheckCellCount(const TableSchema& schema, size_t n) {
  if (n == schema.columns.size()) return Status::Ok();
  return Status::InvalidArgument("row for " + schema.schema + "." + schema.table + " has " +
                                 std::to_string(n) + " cells, its schema has " +
                                 std::to_string(schema.columns.size()) +
                                 " columns; register the table's current schema first");
}

// The folder of a local store, "" for a remote one.
std::string LocalRoot(const store::ObjectStore& store) {
  const std::string probe = store.LocalPath(kMetaDir);
  const size_t n = sizeof(kMetaDir);  // "/_binlake"
  return probe.size() > n ? probe.substr(0, probe.size() - n) : "";
}

// Publishes a spooled file as `key` (a hard link on a local store), then drops the spool's name.
Status PublishSpooled(store::ObjectStore* store, const std::string& key,
                      const std::string& spool_path) {
  BL_RETURN_IF_ERROR(store->PutFile(key, spool_path));
  return RemoveFile(spool_path);
}

// One LOAD file series of a table; each file is published after its manifest.
class LoadWriterImpl : public LoadWriter {
 public:
  LoadWriterImpl(store::ObjectStore* store, const std::string& spool, const CsvOptions& csv,
                 const TableSchema& schema, int version, const SourcePosition& snapshot,
                 uint64_t after_sequence, std::string load_time)
      : store_(store),
        csv_(csv),
        schema_(schema),
        version_(version),
        snapshot_(snapshot),
        after_sequence_(after_sequence),
        load_time_(std::move(load_time)),
        spool_dir_(TableDir(spool, schema.schema, schema.table)) {}

  ~LoadWriterImpl() override {
    if (file_ != nullptr) (void)RemoveFile(file_->path());
  }

  Status AppendRow(std::span<const Cell> cells) override {
    BL_RETURN_IF_ERROR(CheckCellCount(schema_, cells.size()));
    if (file_ == nullptr) BL_RETURN_IF_ERROR(OpenNext());
    line_.clear();
    AppendRowLine(csv_.include_op_for_full_load ? "I" : "",
                  csv_.timestamp_column.empty() ? nullptr : &load_time_, cells, csv_, &scratch_,
                  &line_);
    BL_RETURN_IF_ERROR(Write(line_));
    ++file_rows_;
    ++rows_;
    // Cut at a row boundary once the file exceeds the limit.
    if (file_->size() > csv_.max_file_bytes) return CloseCurrent();
    return Status::Ok();
  }

  // An empty table still gets one (empty) LOAD file, so the lake has the table from the start.
  Status Finish() override {
    if (file_ == nullptr && part_ == 0) BL_RETURN_IF_ERROR(OpenNext());
    if (file_ != nullptr) return CloseCurrent();
    return Status::Ok();
  }

  uint64_t rows() const override { return rows_; }

 private:
  Status OpenNext() {
    ++part_;
    sha_ = std::make_unique<Sha256>();
    file_rows_ = 0;
    BL_RETURN_IF_ERROR(MakeDirs(spool_dir_));
    BL_ASSIGN_OR_RETURN(
        file_, AppendFile::Create(JoinPath(spool_dir_, "." + LoadFileName(part_) + ".tmp")));
    if (csv_.header) return Write(HeaderLine(schema_, csv_.include_op_for_full_load, csv_));
    return Status::Ok();
  }

  Status Write(std::string_view data) {
    sha_->Update(data);
    return file_->Append(data);
  }

  Status CloseCurrent() {
    const std::string name = LoadFileName(part_);
    // No fsync here: PutFile makes the published object durable.
    BL_RETURN_IF_ERROR(file_->Close(/*sync=*/false));
    FileManifest m;
    m.name = name;
    m.schema = schema_.schema;
    m.table = schema_.table;
    m.kind = "load";
    m.sequence = part_;
    m.schema_version = version_;
    m.rows = m.inserts = file_rows_;
    m.bytes = file_->size();
    m.start = m.end = snapshot_;
    m.after_sequence = after_sequence_;
    m.first_commit = m.last_commit = load_time_;
    m.sha256 = sha_->HexDigest();
    BL_RETURN_IF_ERROR(
        store_->Put(ManifestKey(schema_.schema, schema_.table, name), ManifestToJson(m)));
    BL_RETURN_IF_ERROR(
        PublishSpooled(store_, CsvKey(schema_.schema, schema_.table, name), file_->path()));
    file_.reset();
    return Status::Ok();
  }

  store::ObjectStore* store_;
  CsvOptions csv_;
  TableSchema schema_;
  int version_;
  SourcePosition snapshot_;
  uint64_t after_sequence_;
  std::string load_time_;
  std::string spool_dir_;
  std::unique_ptr<AppendFile> file_;
  std::unique_ptr<Sha256> sha_;
  uint64_t part_ = 0, file_rows_ = 0, rows_ = 0;
  std::string line_;
  std::vector<Cell> scratch_;
};

// A change file being built: rows go to disk as they arrive, the manifest fields accumulate.
struct PendingFile {
  int schema_version = 0;
  std::unique_ptr<AppendFile> file;
  Sha256 sha;
  uint64_t rows = 0, inserts = 0, updates = 0, deletes = 0;
  SourcePosition start, end;
  uint64_t first_commit_us = 0, last_commit_us = 0;
  uint64_t last_txn = 0;  // id of the last transaction that wrote here
  bool truncate = false;  // the table is emptied before these rows
};

struct TableState {
  std::string schema, table;
  int version = 0;  // 0: no schema registered
  TableSchema latest;
  std::vector<std::unique_ptr<PendingFile>> files;  // this flush's files, in write order
};

class StoreStaging : public Staging {
 public:
  StoreStaging(std::unique_ptr<store::ObjectStore> store, std::string spool, const CsvOptions& csv,
               const FlushPolicy& flush, const StagingTestHooks& hooks)
      : store_(std::move(store)),
        spool_(std::move(spool)),
        csv_(csv),
        flush_(flush),
        hooks_(hooks) {}

  Status Init();

  const Checkpoint& checkpoint() const override { return cp_; }
  Result<int> RegisterSchema(const TableSchema& schema, const SourcePosition& since) override;
  const TableSchema* LatestSchema(const std::string& schema,
                                  const std::string& table) const override;
  Status ResetFullLoad() override;
  Result<std::unique_ptr<LoadWriter>> BeginLoad(const std::string& schema, const std::string& table,
                                                const SourcePosition& snapshot) override;
  Status FinishFullLoad(const SourcePosition& snapshot) override;
  Status BeginTransaction(const SourcePosition& start, uint64_t commit_time_us) override;
  Status Append(const std::string& schema, const std::string& table, char op,
                std::span<const Cell> cells) override;
  Status Truncate(const std::string& schema, const std::string& table) override;
  Status Touch(const std::string& schema, const std::string& table) override;
  Status Commit(const SourcePosition& end) override;
  Status AbortTransaction() override;
  bool ShouldFlush(uint64_t now_ms) const override;
  Status Flush(uint64_t now_ms) override;
  Status AdvanceIdle(const SourcePosition& pos) override;
  uint64_t pending_bytes() const override { return pending_bytes_; }
  bool in_transaction() const override { return in_txn_; }

 private:
  using Key = std::pair<std::string, std::string>;

  Status WriteCheckpoint();
  Status DoFlush();
  Status Step();
  Result<PendingFile*> FileFor(TableState* ts, bool fresh = false);
  void ResetPending();

  std::unique_ptr<store::ObjectStore> store_;
  std::string spool_;  // local folder where files are built (the store's own folder when local)
  CsvOptions csv_;
  FlushPolicy flush_;
  StagingTestHooks hooks_;
  Checkpoint cp_;
  std::map<Key, TableState> tables_;  // sorted: the flush order
  std::optional<FlushIntent> recovery_;
  Status failed_;  // after a failed flush the store must be reopened

  bool in_txn_ = false;
  SourcePosition txn_start_;
  uint64_t txn_commit_us_ = 0;
  uint64_t txn_id_ = 0;
  std::vector<PendingFile*> txn_files_;

  bool has_pending_ = false;
  SourcePosition pending_start_, last_end_;
  uint64_t pending_max_commit_us_ = 0;
  // The first now_ms ShouldFlush saw with this pending set stands for its start.
  mutable std::optional<uint64_t> pending_since_ms_;
  uint64_t pending_bytes_ = 0;
  uint64_t max_file_size_ = 0;
  uint64_t building_counter_ = 0;
  int flush_steps_ = 0;

  bool idle_dirty_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_idle_write_;

  std::string line_;
  std::vector<Cell> scratch_;
};

Status StoreStaging::Init() {
  BL_RETURN_IF_ERROR(ValidateOptions(csv_));
  BL_RETURN_IF_ERROR(MakeDirs(spool_));
  BL_RETURN_IF_ERROR(RemoveTempFiles(spool_).status());

  const std::string cp_where = store_->uri() + "/" + kCheckpointKey;
  Result<std::string> cp_text = store_->Get(kCheckpointKey);
  if (cp_text.ok()) {
    std::vector<TableVersion> versions;
    BL_ASSIGN_OR_RETURN(cp_, CheckpointFromJson(*cp_text, cp_where, &versions));
    // The schemas as of the checkpoint: later versions are rewritten identically on replay.
    for (const TableVersion& v : versions) {
      BL_ASSIGN_OR_RETURN(TableSchema s, ReadSchema(*store_, v.schema, v.table, v.version));
      TableState& ts = tables_[{v.schema, v.table}];
      ts.schema = v.schema;
      ts.table = v.table;
      ts.version = v.version;
      ts.latest = std::move(s);
    }
  } else if (cp_text.status().code() != StatusCode::kNotFound) {
    return cp_text.status();
  }

  const std::string intent_where = store_->uri() + "/" + kFlushIntentKey;
  Result<std::string> intent_text = store_->Get(kFlushIntentKey);
  if (intent_text.ok()) {
    BL_ASSIGN_OR_RETURN(FlushIntent intent, FlushIntentFromJson(*intent_text, intent_where));
    if (cp_.next_sequence == intent.first_sequence + intent.files.size() &&
        (!PositionAfter(intent.end, cp_.position) || !cp_.full_load_done)) {
      // The checkpoint already moved (or a re-load gave the flush up, ResetFullLoad): only the
      // intent's removal was lost.
      BL_RETURN_IF_ERROR(store_->Delete(kFlushIntentKey));
    } else if (cp_.next_sequence == intent.first_sequence) {
      recovery_ = std::move(intent);
    } else {
      return Status::Corruption(
          intent_where + " (first sequence " + std::to_string(intent.first_sequence) +
          ") does not match the checkpoint (next sequence " + std::to_string(cp_.next_sequence) +
          "); restore both from the same backup");
    }
  } else if (intent_text.status().code() != StatusCode::kNotFound) {
    return intent_text.status();
  }
  return Status::Ok();
}

Status StoreStaging::WriteCheckpoint() {
  std::vector<TableVersion> versions;
  for (const auto& [key, ts] : tables_) {
    if (ts.version > 0) versions.push_back(TableVersion{key.first, key.second, ts.version});
  }
  idle_dirty_ = false;
  return store_->Put(kCheckpointKey, CheckpointToJson(cp_, versions));
}

Result<int> StoreStaging::RegisterSchema(const TableSchema& schema, const SourcePosition& since) {
  BL_RETURN_IF_ERROR(failed_);
  BL_RETURN_IF_ERROR(ValidateName("schema", schema.schema));
  BL_RETURN_IF_ERROR(ValidateName("table", schema.table));
  TableState& ts = tables_[{schema.schema, schema.table}];
  if (ts.version > 0 && ts.latest.SameShape(schema)) return ts.version;
  const int version = ts.version + 1;
  BL_RETURN_IF_ERROR(store_->Put(SchemaKey(schema.schema, schema.table, version),
                                 SchemaToJson(schema, version, since)));
  ts.schema = schema.schema;
  ts.table = schema.table;
  ts.version = version;
  ts.latest = schema;
  cp_.schema_versions[schema.schema + "." + schema.table] = version;
  return version;
}

const TableSchema* StoreStaging::LatestSchema(const std::string& schema,
                                              const std::string& table) const {
  auto it = tables_.find({schema, table});
  if (it == tables_.end() || it->second.version == 0) return nullptr;
  return &it->second.latest;
}

Status StoreStaging::ResetFullLoad() {
  BL_RETURN_IF_ERROR(failed_);
  if (in_txn_ || has_pending_) {
    return Status::InvalidArgument("ResetFullLoad during CDC; reset the full load before capture");
  }
  // Every `<schema>/<table>/LOAD*.csv` of the store (its own metadata lives under _binlake/).
  BL_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store_->List(store::ListOptions{}));
  for (const store::ObjectInfo& o : objects) {
    const size_t s1 = o.key.find('/');
    const size_t s2 = s1 == std::string::npos ? s1 : o.key.find('/', s1 + 1);
    if (s2 == std::string::npos || o.key.find('/', s2 + 1) != std::string::npos) continue;
    if (o.key.compare(0, s1, kMetaDir) == 0 && s1 == sizeof(kMetaDir) - 1) continue;
    if (!IsLoadFileName(std::string_view(o.key).substr(s2 + 1))) continue;
    // The CSV goes first: a manifest without its CSV is never read.
    BL_RETURN_IF_ERROR(store_->Delete(o.key));
    BL_RETURN_IF_ERROR(store_->Delete(std::string(kMetaDir) + "/files/" + o.key + ".json"));
  }
  cp_.full_load_done = false;
  if (recovery_) {
    // A re-load gives up the interrupted flush: its sequences stay used (some of its files may be
    // published, even applied), so the load's after_sequence covers them.
    cp_.next_sequence = recovery_->first_sequence + recovery_->files.size();
    recovery_.reset();
    BL_RETURN_IF_ERROR(WriteCheckpoint());
    return store_->Delete(kFlushIntentKey);
  }
  return WriteCheckpoint();
}

Result<std::unique_ptr<LoadWriter>> StoreStaging::BeginLoad(const std::string& schema,
                                                            const std::string& table,
                                                            const SourcePosition& snapshot) {
  BL_RETURN_IF_ERROR(failed_);
  const TableSchema* s = LatestSchema(schema, table);
  if (s == nullptr) {
    return Status::InvalidArgument("no schema registered for " + schema + "." + table +
                                   "; call RegisterSchema before BeginLoad");
  }
  // A table's load is redone whole: earlier LOAD files would mix with the new ones.
  store::ListOptions list;
  list.prefix = CsvKey(schema, table, "LOAD");
  BL_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store_->List(list));
  const size_t name_at = list.prefix.size() - 4;
  for (const store::ObjectInfo& o : objects) {
    const std::string name = o.key.substr(name_at);
    if (!IsLoadFileName(name)) continue;
    BL_RETURN_IF_ERROR(store_->Delete(o.key));
    BL_RETURN_IF_ERROR(store_->Delete(ManifestKey(schema, table, name)));
  }
  const auto now_us =
      hooks_.load_time_us != 0
          ? hooks_.load_time_us
          : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  const int version = tables_.at({schema, table}).version;
  // Every change file staged so far is older than this load (ResetFullLoad counted an interrupted
  // flush's sequences as used), and so are the files pending now (a table loaded while changes
  // stream): the next flush gives them the next sequences.
  uint64_t pending_files = 0;
  for (const auto& [key, ts] : tables_) pending_files += ts.files.size();
  return std::unique_ptr<LoadWriter>(
      new LoadWriterImpl(store_.get(), spool_, csv_, *s, version, snapshot,
                         cp_.next_sequence - 1 + pending_files, FormatCommitTime(now_us)));
}

Status StoreStaging::FinishFullLoad(const SourcePosition& snapshot) {
  BL_RETURN_IF_ERROR(failed_);
  if (in_txn_ || has_pending_) {
    return Status::InvalidArgument("FinishFullLoad with changes pending; flush them first");
  }
  cp_.full_load_done = true;
  cp_.snapshot = snapshot;
  cp_.position = snapshot;
  return WriteCheckpoint();
}

Status StoreStaging::BeginTransaction(const SourcePosition& start, uint64_t commit_time_us) {
  BL_RETURN_IF_ERROR(failed_);
  if (in_txn_) {
    return Status::InvalidArgument("BeginTransaction at " + start.ToString() +
                                   " inside a transaction; Commit the previous one first");
  }
  in_txn_ = true;
  txn_start_ = start;
  txn_commit_us_ = commit_time_us;
  ++txn_id_;
  txn_files_.clear();
  return Status::Ok();
}

Result<PendingFile*> StoreStaging::FileFor(TableState* ts, bool fresh) {
  PendingFile* f = ts->files.empty() ? nullptr : ts->files.back().get();
  // A file holds one schema version, and is cut at a transaction boundary when full.
  const bool cut = f != nullptr && f->last_txn != txn_id_ && f->file->size() > csv_.max_file_bytes;
  if (f == nullptr || f->schema_version != ts->version || cut || fresh) {
    auto nf = std::make_unique<PendingFile>();
    nf->schema_version = ts->version;
    const std::string dir = TableDir(spool_, ts->schema, ts->table);
    BL_RETURN_IF_ERROR(MakeDirs(dir));
    BL_ASSIGN_OR_RETURN(nf->file,
                        AppendFile::Create(JoinPath(
                            dir, ".building-" + std::to_string(++building_counter_) + ".csv.tmp")));
    if (csv_.header) {
      const std::string header = HeaderLine(ts->latest, true, csv_);
      nf->sha.Update(header);
      BL_RETURN_IF_ERROR(nf->file->Append(header));
      pending_bytes_ += header.size();
    }
    f = nf.get();
    ts->files.push_back(std::move(nf));
  }
  if (f->last_txn != txn_id_) {
    if (f->start.empty()) {  // the first transaction here (a TRUNCATE may have no rows)
      f->start = txn_start_;
      f->first_commit_us = txn_commit_us_;
    }
    f->last_txn = txn_id_;
    txn_files_.push_back(f);
  }
  return f;
}

Status StoreStaging::Append(const std::string& schema, const std::string& table, char op,
                            std::span<const Cell> cells) {
  BL_RETURN_IF_ERROR(failed_);
  if (!in_txn_) {
    return Status::InvalidArgument("Append to " + schema + "." + table +
                                   " outside a transaction; call BeginTransaction first");
  }
  if (op != 'I' && op != 'U' && op != 'D') {
    return Status::InvalidArgument(std::string("row op '") + op + "' for " + schema + "." + table +
                                   " is not I, U or D");
  }
  if ((csv_.cdc_mode == CsvOptions::CdcMode::kInsertsOnly && op != 'I') ||
      (csv_.cdc_mode == CsvOptions::CdcMode::kInsertsAndUpdates && op == 'D')) {
    return Status::Ok();
  }
  auto it = tables_.find({schema, table});
  if (it == tables_.end() || it->second.version == 0) {
    return Status::InvalidArgument("no schema registered for " + schema + "." + table +
                                   "; call RegisterSchema before Append");
  }
  TableState& ts = it->second;
  BL_RETURN_IF_ERROR(CheckCellCount(ts.latest, cells.size()));
  BL_ASSIGN_OR_RETURN(PendingFile * f, FileFor(&ts));
  line_.clear();
  const std::string ts_text =
      csv_.timestamp_column.empty() ? std::string() : FormatCommitTime(txn_commit_us_);
  AppendRowLine(std::string_view(&op, 1), csv_.timestamp_column.empty() ? nullptr : &ts_text, cells,
                csv_, &scratch_, &line_);
  f->sha.Update(line_);
  BL_RETURN_IF_ERROR(f->file->Append(line_));
  ++f->rows;
  if (op == 'I') ++f->inserts;
  if (op == 'U') ++f->updates;
  if (op == 'D') ++f->deletes;
  pending_bytes_ += line_.size();
  max_file_size_ = std::max(max_file_size_, f->file->size());
  return Status::Ok();
}

Status StoreStaging::Truncate(const std::string& schema, const std::string& table) {
  BL_RETURN_IF_ERROR(failed_);
  if (!in_txn_) {
    return Status::InvalidArgument("Truncate of " + schema + "." + table +
                                   " outside a transaction; call BeginTransaction first");
  }
  auto it = tables_.find({schema, table});
  if (it == tables_.end() || it->second.version == 0) {
    return Status::InvalidArgument("no schema registered for " + schema + "." + table +
                                   "; call RegisterSchema before Truncate");
  }
  BL_ASSIGN_OR_RETURN(PendingFile * f, FileFor(&it->second, /*fresh=*/true));
  f->truncate = true;
  pending_bytes_ += 1;  // flushed like a row, even with no rows after it
  return Status::Ok();
}

Status StoreStaging::Touch(const std::string& schema, const std::string& table) {
  BL_RETURN_IF_ERROR(failed_);
  if (!in_txn_) {
    return Status::InvalidArgument("Touch of " + schema + "." + table +
                                   " outside a transaction; call BeginTransaction first");
  }
  auto it = tables_.find({schema, table});
  if (it == tables_.end() || it->second.version == 0) {
    return Status::InvalidArgument("no schema registered for " + schema + "." + table +
                                   "; call RegisterSchema before Touch");
  }
  BL_ASSIGN_OR_RETURN(PendingFile * f, FileFor(&it->second));
  (void)f;
  pending_bytes_ += 1;  // flushed like a row
  return Status::Ok();
}

// The open transaction's rows are already in the building files, next to committed ones; rather
// than unwinding them, nothing more is flushed: the next Open drops the building files and the
// capture recaptures everything after the checkpoint, so nothing is lost or written twice.
Status StoreStaging::AbortTransaction() {
  if (!in_txn_) return Status::Ok();
  in_txn_ = false;
  pending_bytes_ = 0;
  failed_ = Status::InvalidArgument("staging " + store_->uri() +
                                    " was stopped inside a transaction; open it again to resume");
  return Status::Ok();
}

Status StoreStaging::Commit(const SourcePosition& end) {
  BL_RETURN_IF_ERROR(failed_);
  if (!in_txn_) {
    return Status::InvalidArgument("Commit at " + end.ToString() + " without BeginTransaction");
  }
  if (recovery_ && PositionAfter(end, recovery_->end)) {
    failed_ = Status::Corruption("replay passed " + recovery_->end.ToString() +
                                 " (end of the interrupted flush) at " + end.ToString() +
                                 " without a transaction ending there; resume from the checkpoint");
    return failed_;
  }
  for (PendingFile* f : txn_files_) {
    f->end = end;
    f->last_commit_us = txn_commit_us_;
  }
  txn_files_.clear();
  if (!has_pending_) pending_start_ = txn_start_;
  has_pending_ = true;
  last_end_ = end;
  pending_max_commit_us_ = std::max(pending_max_commit_us_, txn_commit_us_);
  in_txn_ = false;
  return Status::Ok();
}

bool StoreStaging::ShouldFlush(uint64_t now_ms) const {
  if (!failed_.ok() || in_txn_ || !has_pending_) return false;
  if (recovery_) return last_end_ == recovery_->end;
  if (pending_bytes_ >= flush_.min_bytes || max_file_size_ > csv_.max_file_bytes) return true;
  if (!pending_since_ms_) pending_since_ms_ = now_ms;
  return now_ms >= *pending_since_ms_ + flush_.interval_ms;
}

void StoreStaging::ResetPending() {
  for (auto& [key, ts] : tables_) ts.files.clear();
  has_pending_ = false;
  pending_since_ms_.reset();
  pending_bytes_ = 0;
  max_file_size_ = 0;
  pending_max_commit_us_ = 0;
}

Status StoreStaging::Step() {
  if (hooks_.crash_after_flush_steps >= 0 && flush_steps_ >= hooks_.crash_after_flush_steps) {
    return Status::IOError("simulated crash (test hook) after " + std::to_string(flush_steps_) +
                           " flush steps");
  }
  ++flush_steps_;
  return Status::Ok();
}

Status StoreStaging::Flush(uint64_t /*now_ms*/) {
  BL_RETURN_IF_ERROR(failed_);
  if (in_txn_) return Status::InvalidArgument("Flush inside a transaction; Commit it first");
  if (!has_pending_) return Status::Ok();
  if (recovery_ && last_end_ != recovery_->end) {
    return Status::InvalidArgument("flush at " + last_end_.ToString() +
                                   " before the end of the interrupted flush (" +
                                   recovery_->end.ToString() + "); keep replaying until then");
  }
  Status st = DoFlush();
  if (!st.ok()) failed_ = st;
  return st;
}

Status StoreStaging::DoFlush() {
  flush_steps_ = 0;
  struct Out {
    TableState* ts;
    PendingFile* f;
    std::string name;
  };
  std::vector<Out> outs;
  // All files of one flush share a time that never goes back.
  const uint64_t name_ms = std::max(cp_.last_name_millis, pending_max_commit_us_ / 1000);
  uint64_t seq = cp_.next_sequence;
  FlushIntent intent{pending_start_, last_end_, seq, {}};
  for (auto& [key, ts] : tables_) {
    for (auto& f : ts.files) {
      outs.push_back(Out{&ts, f.get(), CdcFileName(name_ms, seq++)});
      intent.files.push_back(key.first + "/" + key.second + "/" + outs.back().name);
    }
  }
  if (!outs.empty()) {
    if (recovery_) {
      if (!(intent == *recovery_)) {
        return Status::Corruption("the replayed flush does not match " + store_->uri() + "/" +
                                  kFlushIntentKey +
                                  " (other files or positions); resume from the checkpoint");
      }
    }
    BL_RETURN_IF_ERROR(Step());
    if (!recovery_) BL_RETURN_IF_ERROR(store_->Put(kFlushIntentKey, FlushIntentToJson(intent)));
  }
  for (uint64_t i = 0; i < outs.size(); ++i) {
    const Out& o = outs[i];
    PendingFile& f = *o.f;
    // No fsync here: PutFile makes the published object durable.
    BL_RETURN_IF_ERROR(f.file->Close(/*sync=*/false));
    FileManifest m;
    m.name = o.name;
    m.schema = o.ts->schema;
    m.table = o.ts->table;
    m.kind = "cdc";
    m.sequence = cp_.next_sequence + i;
    m.schema_version = f.schema_version;
    m.rows = f.rows;
    m.inserts = f.inserts;
    m.updates = f.updates;
    m.deletes = f.deletes;
    m.bytes = f.file->size();
    m.start = f.start;
    m.end = f.end;
    m.first_commit = FormatCommitTime(f.first_commit_us);
    m.last_commit = FormatCommitTime(f.last_commit_us);
    m.sha256 = f.sha.HexDigest();
    m.truncate = f.truncate;
    BL_RETURN_IF_ERROR(Step());
    BL_RETURN_IF_ERROR(
        store_->Put(ManifestKey(o.ts->schema, o.ts->table, o.name), ManifestToJson(m)));
    BL_RETURN_IF_ERROR(Step());
    BL_RETURN_IF_ERROR(
        PublishSpooled(store_.get(), CsvKey(o.ts->schema, o.ts->table, o.name), f.file->path()));
  }
  cp_.position = last_end_;
  if (!outs.empty()) {
    cp_.next_sequence += outs.size();
    cp_.last_name_millis = name_ms;
  }
  BL_RETURN_IF_ERROR(Step());
  BL_RETURN_IF_ERROR(WriteCheckpoint());
  if (!outs.empty()) {
    BL_RETURN_IF_ERROR(Step());
    BL_RETURN_IF_ERROR(store_->Delete(kFlushIntentKey));
  }
  recovery_.reset();
  ResetPending();
  return Status::Ok();
}

Status StoreStaging::AdvanceIdle(const SourcePosition& pos) {
  BL_RETURN_IF_ERROR(failed_);
  // With changes pending (or a crashed flush to redo) the next flush moves the checkpoint.
  if (in_txn_ || has_pending_ || recovery_) return Status::Ok();
  if (pos != cp_.position) {
    cp_.position = pos;
    idle_dirty_ = true;
  }
  const auto now = std::chrono::steady_clock::now();
  // At most one checkpoint write a second at heartbeat rate.
  if (idle_dirty_ && (!last_idle_write_ || now - *last_idle_write_ >= std::chrono::seconds(1))) {
    last_idle_write_ = now;
    return WriteCheckpoint();
  }
  return Status::Ok();
}

// A relative folder is taken from the working directory (the config's default is relative).
std::string AbsoluteUri(const std::string& uri) {
  if (uri.empty() || uri.front() == '/' || uri.find("://") != std::string::npos) return uri;
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(uri, ec);
  return ec ? uri : abs.lexically_normal().string();
}

}  // namespace

Result<std::string> DefaultSpoolDir(std::string_view uri) {
  std::string base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    base = JoinPath(home, ".cache");
  } else {
    return Status::InvalidArgument(
        "no spool folder for staging " + std::string(uri) +
        ": neither XDG_CACHE_HOME nor HOME is set; set [capture] spool_dir");
  }
  Sha256 sha;
  sha.Update(uri);
  return JoinPath(base, "binlake/spool/" + sha.HexDigest().substr(0, 16));
}

Result<std::unique_ptr<store::ObjectStore>> OpenStagingStore(const std::string& uri,
                                                             const store::StoreOptions& options) {
  return store::OpenStore(AbsoluteUri(uri), options);
}

Result<std::unique_ptr<Staging>> OpenStagingForTest(std::unique_ptr<store::ObjectStore> store,
                                                    const std::string& spool_dir,
                                                    const CsvOptions& csv, const FlushPolicy& flush,
                                                    const StagingTestHooks& hooks) {
  // A local store builds its files beside their objects, so publishing is a hard link.
  std::string spool = LocalRoot(*store);
  if (spool.empty()) spool = spool_dir;
  if (spool.empty()) {
    BL_ASSIGN_OR_RETURN(spool, DefaultSpoolDir(store->uri()));
  }
  auto staging = std::make_unique<StoreStaging>(std::move(store), spool, csv, flush, hooks);
  BL_RETURN_IF_ERROR(staging->Init());
  return std::unique_ptr<Staging>(std::move(staging));
}

Result<std::unique_ptr<Staging>> Staging::Open(std::unique_ptr<store::ObjectStore> store,
                                               const CsvOptions& csv, const FlushPolicy& flush,
                                               const std::string& spool_dir) {
  return OpenStagingForTest(std::move(store), spool_dir, csv, flush, StagingTestHooks{});
}

Result<std::unique_ptr<Staging>> Staging::Open(const std::string& uri,
                                               const store::StoreOptions& store_options,
                                               const CsvOptions& csv, const FlushPolicy& flush,
                                               const std::string& spool_dir) {
  const std::string abs = AbsoluteUri(uri);
  BL_ASSIGN_OR_RETURN(auto store, OpenStagingStore(abs, store_options));
  std::string spool = spool_dir;
  // The default spool is named after the URI as written in the config, not the store's form.
  if (spool.empty() && LocalRoot(*store).empty()) {
    BL_ASSIGN_OR_RETURN(spool, DefaultSpoolDir(abs));
  }
  return Open(std::move(store), csv, flush, spool);
}

Result<std::unique_ptr<Staging>> Staging::Open(const std::string& uri, const CsvOptions& csv,
                                               const FlushPolicy& flush) {
  return Open(uri, store::StoreOptions{}, csv, flush);
}

}  // namespace binlake::staging
