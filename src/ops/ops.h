// Operations: the metrics of a running pipeline (Prometheus text, a JSON status) and the HTTP
// server that shows them with a dashboard page (docs/operations.md). The capture and the trigger
// report into a Metrics object once per transaction, flush or file, never per row.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace binlake::ops {

// A table's state as the DMS console names them.
enum class TableState { kQueued, kLoading, kLoaded, kReplicating, kError };
const char* TableStateName(TableState state);

// Row changes of one table in one transaction (by the source's operation: an update that moves
// the key is one update).
struct TableChanges {
  std::string table;  // "schema.table"
  uint64_t inserts = 0, updates = 0, deletes = 0;
};

// Thread-safe; every method takes one mutex. Times are wall-clock seconds (Unix) unless named.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // ---- the capture
  void SetState(const std::string& table, TableState state);
  void FullLoadProgress(const std::string& table, uint64_t rows_done, uint64_t rows_estimated);
  void FullLoadDone(const std::string& table, uint64_t rows);
  // A committed transaction: its row changes per table.
  void Transaction(const std::vector<TableChanges>& changes);
  // A DDL statement; `table` when it is known to change a captured table ("" otherwise).
  void Ddl(const std::string& table);
  // A flush of change files: `bytes` staged, `newest_commit_unix_s` the newest commit in them.
  void Staged(uint64_t files, uint64_t bytes, int64_t newest_commit_unix_s);
  // The checkpoint moved (after a flush or an idle advance).
  void Checkpoint(const std::string& position);

  // ---- the trigger and the apply
  // A scan found `pending` files of the table not yet applied, the newest named `newest`.
  void Pending(const std::string& table, uint64_t pending, const std::string& newest);
  // Files applied to the lake table, the last one named `last_file` (a change file's name carries
  // its last commit time, which gives the commit-to-lake lag).
  void Applied(const std::string& table, uint64_t files, uint64_t commits,
               const std::string& last_file);
  // An error: `stopped` when the table stopped, else it is retried.
  void Error(const std::string& table, const std::string& message, bool stopped);

  // Records one sample of the lags and per-table rates (the server calls it every second).
  void Sample();

  // The Prometheus text exposition (version 0.0.4).
  std::string Prometheus() const;
  // The status as JSON (docs/operations.md "/api/status").
  std::string StatusJson() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The commit time encoded in a change file's name ("20261206-081500123-0000000042.csv": the
// file's last commit, UTC, in ms); -1 for other names (LOAD files).
int64_t ChangeFileCommitMs(const std::string& name);

// The dashboard page: HTML with its script, style and chart built in (no external assets).
const std::string& DashboardHtml();

// The HTTP server of `binlake run` ([ops] listen): GET /metrics, /api/status and /.
class Server {
 public:
  // Listens on "host:port" (port 0: any free port); an address in use is one line naming it and
  // the config key. Samples `metrics` every second while it runs.
  static Result<std::unique_ptr<Server>> Start(const std::string& listen, Metrics* metrics);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  uint16_t port() const;
  void Stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace binlake::ops
