// The CSV lake: the apply's buckets and merge on canonical text, one CSV file per bucket, and a
// state file (`_binlake_state.json`) replaced atomically as the commit of each applied file.
//
// A commit: the new bucket files are written hidden (`bucket=N/.part-<uuid>.csv.tmp`) and
// fsynced; the new state (sequence, files, the files it replaces) is renamed over the old one;
// then the new files are renamed visible and the replaced ones deleted. Every apply first
// finishes the last commit from its state, so a crash leaves the old or the new table.
#include "lake/csv_lake.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lake/lake_internal.h"
#include "staging/records.h"
#include "util/files.h"
#include "util/log.h"

namespace binlake::lake {
namespace {

// The CSV lake's bucket count when none is configured (0, "automatic" for the Delta lake).
constexpr int kCsvDefaultBuckets = 16;

using json = nlohmann::json;

constexpr char kStateName[] = "_binlake_state.json";
constexpr char kLockName[] = "_binlake.lock";
constexpr char kStateFormat[] = "binlake-csv/1";

struct CsvState {
  bool exists = false;
  int64_t sequence = 0;
  std::string load;  // identity of the LOAD files applied
  int schema_version = 0;
  int buckets = 16;
  std::vector<std::string> columns;
  std::map<int, std::string> files;   // bucket -> relative path
  std::vector<std::string> obsolete;  // replaced by the last commit; deleted after it
};

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// "bucket=0003/part-x.csv" -> "bucket=0003/.part-x.csv.tmp"
std::string HiddenOf(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return rel.substr(0, slash + 1) + "." + rel.substr(slash + 1) + ".tmp";
}

std::string BucketDir(int bucket) {
  char dir[32];
  std::snprintf(dir, sizeof(dir), "bucket=%04d", bucket);
  return dir;
}

Result<CsvState> ReadState(const std::string& dir) {
  CsvState s;
  const std::string path = JoinPath(dir, kStateName);
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return s;
    return text.status();
  }
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", "") != kStateFormat) {
    return Status::Corruption(path + " is not a binlake CSV lake state");
  }
  try {
    s.exists = true;
    s.sequence = j.at("sequence").get<int64_t>();
    s.load = j.at("load").get<std::string>();
    s.schema_version = j.at("schema_version").get<int>();
    s.buckets = j.at("buckets").get<int>();
    s.columns = j.at("columns").get<std::vector<std::string>>();
    for (const auto& [b, rel] : j.at("files").items())
      s.files[std::stoi(b)] = rel.get<std::string>();
    s.obsolete = j.at("obsolete").get<std::vector<std::string>>();
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  if (s.buckets < 1) return Status::Corruption(path + ": buckets must be at least 1");
  return s;
}

Status WriteState(const std::string& dir, const CsvState& s) {
  json files = json::object();
  for (const auto& [b, rel] : s.files) files[std::to_string(b)] = rel;
  const json j = {{"format", kStateFormat}, {"sequence", s.sequence},
                  {"load", s.load},         {"schema_version", s.schema_version},
                  {"buckets", s.buckets},   {"columns", s.columns},
                  {"files", files},         {"obsolete", s.obsolete}};
  return WriteFileAtomic(dir, kStateName, j.dump(2) + "\n");
}

// Finishes the last commit: its new files visible, the files it replaced gone.
Status Recover(const std::string& dir, const CsvState& s) {
  for (const auto& [b, rel] : s.files) {
    const std::string path = JoinPath(dir, rel);
    if (Exists(path)) continue;
    const std::string hidden = JoinPath(dir, HiddenOf(rel));
    if (!Exists(hidden)) {
      return Status::Corruption(dir + ": " + rel + ", named by " + kStateName + ", is gone");
    }
    BL_RETURN_IF_ERROR(RenameFile(hidden, path));
    BL_RETURN_IF_ERROR(SyncDir(JoinPath(dir, BucketDir(b))));
  }
  for (const auto& rel : s.obsolete) {
    BL_RETURN_IF_ERROR(RemoveFile(JoinPath(dir, rel)));
  }
  return Status::Ok();
}

// Hidden files of an interrupted commit in one bucket folder (the table lock is held).
void RemoveHidden(const std::string& bucket_dir) {
  DIR* d = opendir(bucket_dir.c_str());
  if (!d) return;
  std::vector<std::string> doomed;
  while (dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 5 && n[0] == '.' && n.ends_with(".tmp")) doomed.push_back(n);
  }
  closedir(d);
  for (const auto& n : doomed) unlink(JoinPath(bucket_dir, n).c_str());
}

// One applier per table at a time (the trigger and a manual `binlake apply` may overlap).
class TableLock {
 public:
  ~TableLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  Status Lock(const std::string& dir) {
    BL_RETURN_IF_ERROR(MakeDirs(dir));
    const std::string path = JoinPath(dir, kLockName);
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0 || flock(fd_, LOCK_EX) != 0) return Status::IOError("cannot lock " + path);
    return Status::Ok();
  }

 private:
  int fd_ = -1;
};

class CsvApplier {
 public:
  CsvApplier(const ApplyOptions& o, ApplyStats* stats) : o_(o), stats_(stats) {
    auto uri = store::ParseStoreUri(o.lake);
    lake_dir_ = uri.ok() ? uri->path : o.lake;
    out_csv_.delimiter = o.csv.delimiter;
    out_csv_.null_value = o.csv.null_value;
  }

  Status ApplyTable(const StagedTable& st) {
    st_ = st;
    dir_ = JoinPath(JoinPath(lake_dir_, st.schema), st.table);
    TableLock lock;
    BL_RETURN_IF_ERROR(lock.Lock(dir_));
    BL_ASSIGN_OR_RETURN(state_, ReadState(dir_));
    BL_RETURN_IF_ERROR(Recover(dir_, state_));
    LakeTableState lake;
    lake.exists = state_.exists;
    lake.load_id = state_.load;
    lake.applied = state_.exists ? state_.sequence : -1;
    BL_ASSIGN_OR_RETURN(auto load, LoadToApply(st, lake));
    if (load) {
      BL_RETURN_IF_ERROR(ApplyLoad(*load));
    } else if (st.AnyLoadAsked()) {
      stats_->skipped++;  // the table has this load
    }
    BL_ASSIGN_OR_RETURN(auto cdc, ChangeFilesUpTo(st));
    for (const auto& [m, name] : cdc) BL_RETURN_IF_ERROR(ApplyChange(m, name));
    return Status::Ok();
  }

 private:
  void Warn(const std::string& m) {
    if (o_.warn) {
      o_.warn(m);
    } else {
      log::Warn(m);
    }
  }

  // The columns and key of a schema version.
  Status InitColumns(int version) {
    BL_ASSIGN_OR_RETURN(ts_, StagedSchema(st_, version));
    schema_version_ = version;
    std::vector<std::pair<int, int>> pk;
    for (size_t i = 0; i < ts_.columns.size(); i++) {
      if (ts_.columns[i].pk_position >= 0) pk.emplace_back(ts_.columns[i].pk_position, i);
    }
    std::sort(pk.begin(), pk.end());
    key_.clear();
    has_pk_ = !pk.empty();
    for (const auto& [pos, i] : pk) key_.push_back(i);
    if (!has_pk_) {
      if (o_.reject_without_primary_key) {
        return Status::NotSupported(st_.schema + "." + st_.table +
                                    " has no primary key: add one, or allow whole-row identity");
      }
      for (size_t i = 0; i < ts_.columns.size(); i++) key_.push_back(static_cast<int>(i));
    }
    return Status::Ok();
  }

  std::vector<std::string> ColumnNames() const {
    std::vector<std::string> names;
    for (const auto& c : ts_.columns) names.push_back(c.name);
    return names;
  }

  std::string KeyOf(const Cells& cells) const {
    std::string k;
    for (int i : key_) {
      if (cells[i]) {
        k.push_back('v');
        k += *cells[i];
      } else {
        k.push_back('n');
      }
      k.push_back('\x1f');
    }
    return k;
  }

  // The key as a message shows it: "1,NULL".
  std::string KeyText(const Cells& cells) const {
    std::string k;
    for (int i : key_) {
      if (!k.empty()) k.push_back(',');
      k += cells[i] ? *cells[i] : "NULL";
    }
    return k;
  }

  Status ReadBucket(const std::string& rel, std::vector<Cells>* rows) const {
    const std::string path = JoinPath(dir_, rel);
    BL_ASSIGN_OR_RETURN(auto data, ReadWholeFile(path));
    staging::CsvReader reader(data, out_csv_, ts_.columns.size());
    Cells fields;
    bool header = true;
    while (reader.Next(&fields)) {
      if (header) {
        header = false;
        std::vector<std::string> names;
        for (const auto& f : fields) names.push_back(f.value_or(""));
        if (names != ColumnNames()) {
          return Status::NotSupported(path + ": the header differs from the table's columns");
        }
        continue;
      }
      rows->push_back(std::move(fields));
      fields = {};
    }
    if (!reader.status().ok()) return reader.status().WithContext(path);
    return Status::Ok();
  }

  // Writes a bucket's rows hidden; returns the relative path it gets once committed.
  Result<std::string> WriteBucket(int bucket, const std::vector<const Cells*>& rows) {
    const std::string bdir = JoinPath(dir_, BucketDir(bucket));
    BL_RETURN_IF_ERROR(MakeDirs(bdir));
    RemoveHidden(bdir);
    const std::string rel = BucketDir(bucket) + "/part-" + NewUuid() + ".csv";
    std::string out;
    std::vector<staging::Cell> cells;
    for (const auto& c : ts_.columns) cells.push_back({false, c.name});
    staging::AppendCsvRecord(cells, out_csv_, &out);
    out.push_back('\n');
    for (const Cells* r : rows) {
      cells.clear();
      for (const auto& v : *r) {
        cells.push_back(v ? staging::Cell{false, *v} : staging::Cell{true, {}});
      }
      staging::AppendCsvRecord(cells, out_csv_, &out);
      out.push_back('\n');
    }
    BL_ASSIGN_OR_RETURN(auto f, AppendFile::Create(JoinPath(dir_, HiddenOf(rel))));
    BL_RETURN_IF_ERROR(f->Append(out));
    BL_RETURN_IF_ERROR(f->Close());
    return rel;
  }

  // The commit: the hidden files durable, the state switched, then the files made visible.
  Status Commit(CsvState next, const std::set<int>& written) {
    for (int b : written) BL_RETURN_IF_ERROR(SyncDir(JoinPath(dir_, BucketDir(b))));
    next.exists = true;
    BL_RETURN_IF_ERROR(WriteState(dir_, next));
    state_ = std::move(next);
    stats_->commits++;
    return Recover(dir_, state_);
  }

  // The table from its LOAD files; its sequence becomes the load's after_sequence.
  Status ApplyLoad(const StagedLoad& load) {
    if (state_.exists && state_.load == load.id) {
      stats_->skipped++;
      return Status::Ok();
    }
    if (state_.exists && state_.sequence > static_cast<int64_t>(load.after_sequence)) {
      return Status::Corruption(dir_ + " applied change file " + std::to_string(state_.sequence) +
                                ", newer than its staged full load (after change file " +
                                std::to_string(load.after_sequence) +
                                "), before that load: delete the lake table and apply again");
    }
    BL_RETURN_IF_ERROR(InitColumns(load.schema_version));
    const int buckets = o_.buckets > 0 ? o_.buckets : kCsvDefaultBuckets;
    std::vector<StagedRow> rows;
    for (const auto& n : load.names) {
      BL_RETURN_IF_ERROR(ReadStagedRows(o_.csv, ts_.columns.size(), st_, n, true, &rows));
    }
    std::map<int, std::vector<const Cells*>> by_bucket;
    for (const auto& r : rows) by_bucket[BucketOfCells(key_, r.cells, buckets)].push_back(&r.cells);
    CsvState next;
    next.sequence = static_cast<int64_t>(load.after_sequence);
    next.load = load.id;
    next.schema_version = schema_version_;
    next.buckets = buckets;
    next.columns = ColumnNames();
    for (const auto& [b, rel] : state_.files) next.obsolete.push_back(rel);
    std::set<int> written;
    for (const auto& [b, brows] : by_bucket) {
      BL_ASSIGN_OR_RETURN(next.files[b], WriteBucket(b, brows));
      written.insert(b);
    }
    BL_RETURN_IF_ERROR(Commit(std::move(next), written));
    stats_->files_added += static_cast<int>(written.size());
    stats_->files_removed += static_cast<int>(state_.obsolete.size());
    stats_->rows_written += rows.size();
    return Status::Ok();
  }

  // The table's schema version, or another with the same columns.
  Status TableColumns(int file_version) {
    BL_RETURN_IF_ERROR(InitColumns(state_.schema_version));
    if (file_version == state_.schema_version) return Status::Ok();
    BL_ASSIGN_OR_RETURN(auto other, StagedSchema(st_, file_version));
    if (other.columns != ts_.columns) {
      return Status::NotSupported(st_.schema + "." + st_.table + ": schema change (version " +
                                  std::to_string(file_version) +
                                  "): the CSV lake does not follow schema changes; use "
                                  "format = \"delta\", or reload the table (a new full load)");
    }
    return Status::Ok();
  }

  Status ApplyChange(const staging::FileManifest& m, const std::string& name) {
    if (state_.exists && state_.sequence >= static_cast<int64_t>(m.sequence)) {
      stats_->skipped++;
      return Status::Ok();
    }
    if (m.truncate) {
      return Status::NotSupported(st_.Where(name) +
                                  ": the table was emptied (TRUNCATE or DROP TABLE) here, which "
                                  "the CSV lake does not follow; use format = \"delta\", or "
                                  "reload the table (a new full load)");
    }
    CsvState next = state_;
    next.obsolete.clear();
    if (!state_.exists) {
      BL_RETURN_IF_ERROR(InitColumns(m.schema_version));
      next.buckets = o_.buckets > 0 ? o_.buckets : kCsvDefaultBuckets;
      next.schema_version = schema_version_;
      next.columns = ColumnNames();
    } else {
      BL_RETURN_IF_ERROR(TableColumns(m.schema_version));
    }
    const std::string path = st_.Where(name);
    std::vector<StagedRow> changes;
    BL_RETURN_IF_ERROR(ReadStagedRows(o_.csv, ts_.columns.size(), st_, name, false, &changes));
    std::map<int, std::vector<const StagedRow*>> by_bucket;
    for (const auto& r : changes) {
      by_bucket[BucketOfCells(key_, r.cells, next.buckets)].push_back(&r);
    }
    std::set<int> written;
    int removed = 0;
    uint64_t rows_written = 0;
    for (const auto& [b, brows] : by_bucket) {
      std::vector<Cells> old;
      auto f = state_.files.find(b);
      if (f != state_.files.end()) {
        BL_RETURN_IF_ERROR(ReadBucket(f->second, &old));
        next.obsolete.push_back(f->second);
        next.files.erase(b);
        removed++;
      }
      // The merge of docs/lake.md "Apply", on canonical text.
      std::map<std::string, std::vector<const Cells*>> live;
      for (const auto& r : old) live[KeyOf(r)].push_back(&r);
      for (const StagedRow* r : brows) {
        const std::string key = KeyOf(r->cells);
        auto it = live.find(key);
        if (r->op == 'D') {
          if (it == live.end()) {
            Warn(path + ": delete of a missing row (key " + KeyText(r->cells) + ")");
            continue;
          }
          it->second.pop_back();
          if (it->second.empty()) live.erase(it);
        } else if (!has_pk_) {
          live[key].push_back(&r->cells);
        } else {
          if (r->op == 'I' && it != live.end()) {
            Warn(path + ": insert of an existing key " + KeyText(r->cells) + "; the new row wins");
          } else if (r->op == 'U' && it == live.end()) {
            Warn(path + ": update of a missing key " + KeyText(r->cells) + "; inserted");
          }
          live[key] = {&r->cells};
        }
      }
      std::vector<const Cells*> merged;
      for (const auto& [key, rs] : live) merged.insert(merged.end(), rs.begin(), rs.end());
      if (merged.empty()) continue;
      BL_ASSIGN_OR_RETURN(next.files[b], WriteBucket(b, merged));
      written.insert(b);
      rows_written += merged.size();
    }
    next.sequence = static_cast<int64_t>(m.sequence);
    BL_RETURN_IF_ERROR(Commit(std::move(next), written));
    stats_->files_added += static_cast<int>(written.size());
    stats_->files_removed += removed;
    stats_->rows_written += rows_written;
    return Status::Ok();
  }

  const ApplyOptions& o_;
  ApplyStats* stats_;
  staging::CsvOptions out_csv_;  // the lake files' dialect: the staging delimiter and NULL token
  StagedTable st_;
  std::string lake_dir_;  // the lake folder (a file:// URI as a path)
  std::string dir_;
  CsvState state_;
  staging::TableSchema ts_;
  int schema_version_ = 0;
  std::vector<int> key_;
  bool has_pk_ = false;
};

}  // namespace

Result<ApplyStats> ApplyCsvFiles(const ApplyOptions& options,
                                 const std::vector<std::string>& files) {
  if (options.lake.empty()) return Status::InvalidArgument("the lake folder is required (--lake)");
  if (options.buckets < 0) return Status::InvalidArgument("buckets must be at least 1 (0: 16)");
  BL_ASSIGN_OR_RETURN(auto lake_uri, store::ParseStoreUri(options.lake));
  if (lake_uri.kind != store::StoreUri::Kind::kLocal) {
    return Status::NotSupported("the CSV lake (" + options.lake +
                                ") is written to a local folder only; use format = \"delta\" "
                                "for a lake on S3");
  }
  BL_ASSIGN_OR_RETURN(auto tables, GroupStagedFiles(options, files));
  ApplyStats stats;
  CsvApplier applier(options, &stats);
  for (const auto& t : tables) BL_RETURN_IF_ERROR(applier.ApplyTable(t));
  return stats;
}

Result<CsvLakeTable> ReadCsvLakeTable(const std::string& table_dir,
                                      const staging::CsvOptions& csv) {
  BL_ASSIGN_OR_RETURN(auto s, ReadState(table_dir));
  if (!s.exists) return Status::NotFound("no CSV lake table at " + table_dir);
  CsvLakeTable t;
  t.sequence = s.sequence;
  t.columns = s.columns;
  staging::CsvOptions dialect;
  dialect.delimiter = csv.delimiter;
  dialect.null_value = csv.null_value;
  for (const auto& [b, rel] : s.files) {
    t.files.push_back(rel);
    const std::string path = JoinPath(table_dir, rel);
    BL_ASSIGN_OR_RETURN(auto data, ReadWholeFile(path));
    staging::CsvReader reader(data, dialect, s.columns.size());
    Cells fields;
    bool header = true;
    while (reader.Next(&fields)) {
      if (!header) t.rows.push_back(std::move(fields));
      header = false;
      fields = {};
    }
    if (!reader.status().ok()) return reader.status().WithContext(path);
  }
  return t;
}

}  // namespace binlake::lake
