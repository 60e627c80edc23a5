// The metrics registry: one mutex around plain counters, taken once per transaction, flush or file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "ops/ops.h"

namespace binlake::ops {
namespace {

constexpr size_t kHistory = 600;  // samples kept for the lag chart (10 minutes at 1 s)

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A Prometheus label value: backslash, double quote and line feed escaped.
std::string Label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Integers exactly (counters up to 2^53), other values to the millisecond.
std::string Num(double v) {
  char buf[48];
  if (v > -1e15 && v < 1e15 && v == static_cast<double>(static_cast<int64_t>(v))) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(buf, sizeof buf, "%.3f", v);
  }
  return buf;
}

struct TableData {
  TableState state = TableState::kQueued;
  uint64_t load_rows = 0, load_estimated = 0;
  bool load_done = false;
  uint64_t inserts = 0, updates = 0, deletes = 0, ddl = 0;
  uint64_t files_applied = 0, commits = 0, errors = 0, pending = 0;
  std::string last_staged, last_applied, last_error;
  double lag_lake = -1;  // seconds, at the last applied change file; -1: none yet
  uint64_t prev[3] = {0, 0, 0};
  double rate[3] = {0, 0, 0};  // rows/s of inserts, updates, deletes over the last sample
};

struct LagSample {
  int64_t t_ms;
  double staged, lake;  // -1: not known yet
};

}  // namespace

struct Metrics::State {
  mutable std::mutex mu;
  std::map<std::string, TableData> tables;
  int64_t start_ms = NowMs();
  uint64_t transactions = 0, ddl_statements = 0, files_staged = 0, bytes_staged = 0;
  uint64_t files_applied = 0, lake_commits = 0, errors = 0;
  double lag_staged = -1, lag_lake = -1;  // seconds, at the last flush / the last apply
  std::string checkpoint;
  int64_t checkpoint_ms = 0;
  std::deque<LagSample> history;
  int64_t last_sample_ms = 0;
};

const char* TableStateName(TableState s) {
  switch (s) {
    case TableState::kQueued:
      return "queued";
    case TableState::kLoading:
      return "loading";
    case TableState::kLoaded:
      return "loaded";
    case TableState::kReplicating:
      return "replicating";
    case TableState::kError:
      return "error";
  }
  return "unknown";
}

int64_t ChangeFileCommitMs(const std::string& name) {
  // yyyymmdd-HHMMSSmmm-ssssssssss.csv
  if (name.size() != 33 || name[8] != '-' || name[18] != '-' || !name.ends_with(".csv")) return -1;
  for (size_t i = 0; i < 29; i++) {
    if (i != 8 && i != 18 && (name[i] < '0' || name[i] > '9')) return -1;
  }
  auto num = [&](size_t pos, size_t len) { return std::stoi(name.substr(pos, len)); };
  struct tm tm {};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  return static_cast<int64_t>(timegm(&tm)) * 1000 + num(15, 3);
}

Metrics::Metrics() : state_(std::make_unique<State>()) {}
Metrics::~Metrics() = default;

void Metrics::SetState(const std::string& table, TableState s) {
  std::lock_guard<std::mutex> lock(state_->mu);
  TableData& t = state_->tables[table];
  // An error stays shown until the table runs again; loaded tables become replicating together.
  t.state = s;
}

void Metrics::FullLoadProgress(const std::string& table, uint64_t rows_done,
                               uint64_t rows_estimated) {
  std::lock_guard<std::mutex> lock(state_->mu);
  TableData& t = state_->tables[table];
  t.state = TableState::kLoading;
  t.load_rows = rows_done;
  t.load_estimated = rows_estimated;
}

void Metrics::FullLoadDone(const std::string& table, uint64_t rows) {
  std::lock_guard<std::mutex> lock(state_->mu);
  TableData& t = state_->tables[table];
  t.state = TableState::kLoaded;
  t.load_rows = rows;
  t.load_done = true;
}

void Metrics::Transaction(const std::vector<TableChanges>& changes) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->transactions++;
  for (const auto& c : changes) {
    TableData& t = state_->tables[c.table];
    if (t.state == TableState::kQueued) t.state = TableState::kReplicating;
    t.inserts += c.inserts;
    t.updates += c.updates;
    t.deletes += c.deletes;
  }
}

void Metrics::Ddl(const std::string& table) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (table.empty()) {
    state_->ddl_statements++;
  } else {
    state_->tables[table].ddl++;
  }
}

void Metrics::Staged(uint64_t files, uint64_t bytes, int64_t newest_commit_unix_s) {
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->files_staged += files;
  state_->bytes_staged += bytes;
  if (newest_commit_unix_s > 0) {
    state_->lag_staged = std::max(0.0, (now - newest_commit_unix_s * 1000) / 1000.0);
  }
}

void Metrics::Checkpoint(const std::string& position) {
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->checkpoint = position;
  state_->checkpoint_ms = now;
}

void Metrics::Pending(const std::string& table, uint64_t pending, const std::string& newest) {
  std::lock_guard<std::mutex> lock(state_->mu);
  TableData& t = state_->tables[table];
  t.pending = pending;
  if (!newest.empty() && newest > t.last_staged) t.last_staged = newest;
}

void Metrics::Applied(const std::string& table, uint64_t files, uint64_t commits,
                      const std::string& last_file) {
  const int64_t now = NowMs();
  const int64_t commit_ms = ChangeFileCommitMs(last_file);
  std::lock_guard<std::mutex> lock(state_->mu);
  TableData& t = state_->tables[table];
  t.files_applied += files;
  t.commits += commits;
  t.pending = t.pending > files ? t.pending - files : 0;
  t.last_applied = last_file;
  if (t.state == TableState::kError) t.state = TableState::kReplicating;
  state_->files_applied += files;
  state_->lake_commits += commits;
  if (commit_ms >= 0) {
    t.lag_lake = std::max(0.0, (now - commit_ms) / 1000.0);
    state_->lag_lake = t.lag_lake;
  }
}

void Metrics::Error(const std::string& table, const std::string& message, bool stopped) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->errors++;
  if (table.empty()) return;
  TableData& t = state_->tables[table];
  t.errors++;
  t.last_error = message;
  if (stopped) t.state = TableState::kError;
}

void Metrics::Sample() {
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(state_->mu);
  State& s = *state_;
  const double dt = s.last_sample_ms > 0 ? (now - s.last_sample_ms) / 1000.0 : 0;
  for (auto& [name, t] : s.tables) {
    const uint64_t cur[3] = {t.inserts, t.updates, t.deletes};
    for (int i = 0; i < 3; i++) {
      t.rate[i] = dt > 0 ? static_cast<double>(cur[i] - t.prev[i]) / dt : 0;
      t.prev[i] = cur[i];
    }
  }
  s.last_sample_ms = now;
  s.history.push_back({now, s.lag_staged, s.lag_lake});
  if (s.history.size() > kHistory) s.history.pop_front();
}

std::string Metrics::Prometheus() const {
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(state_->mu);
  const State& s = *state_;
  std::string o;
  auto head = [&](const char* name, const char* type, const char* help) {
    o.append("# HELP ").append(name).append(" ").append(help).append("\n");
    o.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  };
  auto line = [&](const char* name, const std::string& labels, double v) {
    o.append(name);
    if (!labels.empty()) o.append("{").append(labels).append("}");
    o.append(" ").append(Num(v)).append("\n");
  };
  auto tl = [](const std::string& table) { return "table=\"" + Label(table) + "\""; };
  head("binlake_up", "gauge", "1 while binlake run serves metrics.");
  line("binlake_up", "", 1);
  head("binlake_start_time_seconds", "gauge", "When this process started (Unix seconds).");
  line("binlake_start_time_seconds", "", s.start_ms / 1000.0);
  head("binlake_lag_seconds", "gauge",
       "Commit-to-staged (at the last flush) and commit-to-lake (at the last applied change "
       "file) lag; -1 before the first.");
  line("binlake_lag_seconds", "stage=\"staged\"", s.lag_staged);
  line("binlake_lag_seconds", "stage=\"lake\"", s.lag_lake);
  head("binlake_rows_total", "counter", "Row changes captured, by table and source operation.");
  static const char* kOps[3] = {"insert", "update", "delete"};
  for (const auto& [name, t] : s.tables) {
    const uint64_t v[3] = {t.inserts, t.updates, t.deletes};
    for (int i = 0; i < 3; i++) {
      line("binlake_rows_total", tl(name) + ",op=\"" + kOps[i] + "\"", static_cast<double>(v[i]));
    }
  }
  head("binlake_rows_per_second", "gauge",
       "Row changes per second over the last second, by table and operation.");
  for (const auto& [name, t] : s.tables) {
    for (int i = 0; i < 3; i++) {
      line("binlake_rows_per_second", tl(name) + ",op=\"" + kOps[i] + "\"", t.rate[i]);
    }
  }
  head("binlake_full_load_rows", "gauge", "Rows of the table's full load written so far.");
  for (const auto& [name, t] : s.tables) {
    line("binlake_full_load_rows", tl(name), static_cast<double>(t.load_rows));
  }
  head("binlake_full_load_rows_estimated", "gauge",
       "The table's row estimate (information_schema) while its full load runs.");
  for (const auto& [name, t] : s.tables) {
    line("binlake_full_load_rows_estimated", tl(name), static_cast<double>(t.load_estimated));
  }
  head("binlake_table_state", "gauge", "1 for the table's state.");
  for (const auto& [name, t] : s.tables) {
    line("binlake_table_state", tl(name) + ",state=\"" + TableStateName(t.state) + "\"", 1);
  }
  head("binlake_ddl_total", "counter",
       "Schema changes and TRUNCATE/DROP/RENAME of a table; table=\"\" counts DDL statements.");
  line("binlake_ddl_total", "table=\"\"", static_cast<double>(s.ddl_statements));
  for (const auto& [name, t] : s.tables) {
    line("binlake_ddl_total", tl(name), static_cast<double>(t.ddl));
  }
  head("binlake_transactions_total", "counter", "Source transactions captured.");
  line("binlake_transactions_total", "", static_cast<double>(s.transactions));
  head("binlake_staged_files_total", "counter", "Change-file flushes.");
  line("binlake_staged_files_total", "", static_cast<double>(s.files_staged));
  head("binlake_staged_bytes_total", "counter", "Bytes of change files staged.");
  line("binlake_staged_bytes_total", "", static_cast<double>(s.bytes_staged));
  head("binlake_files_pending", "gauge", "Staged files the lake has not applied yet.");
  uint64_t pending = 0;
  for (const auto& [name, t] : s.tables) {
    line("binlake_files_pending", tl(name), static_cast<double>(t.pending));
    pending += t.pending;
  }
  head("binlake_files_pending_sum", "gauge", "Staged files not applied yet, all tables.");
  line("binlake_files_pending_sum", "", static_cast<double>(pending));
  head("binlake_files_applied_total", "counter", "Staged files applied to the lake.");
  for (const auto& [name, t] : s.tables) {
    line("binlake_files_applied_total", tl(name), static_cast<double>(t.files_applied));
  }
  head("binlake_lake_commits_total", "counter", "Lake commits.");
  line("binlake_lake_commits_total", "", static_cast<double>(s.lake_commits));
  head("binlake_errors_total", "counter", "Errors (store failures retried, stopped tables).");
  line("binlake_errors_total", "", static_cast<double>(s.errors));
  head("binlake_last_checkpoint_timestamp_seconds", "gauge",
       "When the capture checkpoint last moved (Unix seconds); 0: not yet.");
  line("binlake_last_checkpoint_timestamp_seconds", "", s.checkpoint_ms / 1000.0);
  head("binlake_last_checkpoint_age_seconds", "gauge", "Seconds since the checkpoint moved.");
  line("binlake_last_checkpoint_age_seconds", "",
       s.checkpoint_ms > 0 ? (now - s.checkpoint_ms) / 1000.0 : -1);
  head("binlake_checkpoint_info", "gauge", "The checkpoint's binlog position as a label.");
  line("binlake_checkpoint_info", "position=\"" + Label(s.checkpoint) + "\"", 1);
  return o;
}

std::string Metrics::StatusJson() const {
  using nlohmann::json;
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(state_->mu);
  const State& s = *state_;
  json j;
  j["now"] = now / 1000.0;
  j["started"] = s.start_ms / 1000.0;
  j["lag"] = {{"staged_s", s.lag_staged}, {"lake_s", s.lag_lake}};
  j["checkpoint"] = {{"position", s.checkpoint},
                     {"at", s.checkpoint_ms / 1000.0},
                     {"age_s", s.checkpoint_ms > 0 ? (now - s.checkpoint_ms) / 1000.0 : -1}};
  uint64_t ins = 0, upd = 0, del = 0, ddl = s.ddl_statements, pending = 0;
  json tables = json::array();
  for (const auto& [name, t] : s.tables) {
    ins += t.inserts;
    upd += t.updates;
    del += t.deletes;
    ddl += t.ddl;
    pending += t.pending;
    tables.push_back(
        {{"table", name},
         {"state", TableStateName(t.state)},
         {"full_load",
          {{"rows", t.load_rows}, {"estimated", t.load_estimated}, {"done", t.load_done}}},
         {"inserts", t.inserts},
         {"updates", t.updates},
         {"deletes", t.deletes},
         {"ddl", t.ddl},
         {"rows_per_second", {{"insert", t.rate[0]}, {"update", t.rate[1]}, {"delete", t.rate[2]}}},
         {"files_pending", t.pending},
         {"files_applied", t.files_applied},
         {"last_staged_file", t.last_staged},
         {"last_applied_file", t.last_applied},
         {"lag_lake_s", t.lag_lake},
         {"errors", t.errors},
         {"last_error", t.last_error}});
  }
  j["totals"] = {{"inserts", ins},
                 {"updates", upd},
                 {"deletes", del},
                 {"ddl", ddl},
                 {"transactions", s.transactions},
                 {"files_staged", s.files_staged},
                 {"bytes_staged", s.bytes_staged},
                 {"files_pending", pending},
                 {"files_applied", s.files_applied},
                 {"lake_commits", s.lake_commits},
                 {"errors", s.errors}};
  j["tables"] = std::move(tables);
  json hist = json::array();
  for (const auto& h : s.history) hist.push_back(json::array({h.t_ms / 1000.0, h.staged, h.lake}));
  j["history"] = std::move(hist);
  return j.dump();
}

}  // namespace binlake::ops
