// The capture (the DMS task): preflight, full load in one consistent snapshot, then the binlog
// stream from exactly the snapshot position into staging change files, with exact resume.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "binlog/client.h"
#include "ops/ops.h"
#include "source/source.h"
#include "staging/staging.h"
#include "util/status.h"

namespace binlake::source {

enum class MigrationType { kFullLoad, kCdc, kFullLoadAndCdc };
Result<MigrationType> ParseMigrationType(const std::string& s);

struct CaptureOptions {
  binlog::ConnectionOptions connection;
  int max_reconnect_attempts = -1;  // -1: forever
  MigrationType migration = MigrationType::kFullLoadAndCdc;
  TableFilter filter;
  std::string staging_root;   // a folder or store URI (file:///..., s3://bucket/prefix)
  store::StoreOptions store;  // how to reach an S3 staging store ([s3])
  std::string spool_dir;      // where a remote staging's files are built; "": the default
  staging::CsvOptions csv;
  staging::FlushPolicy flush;
  PreflightOptions preflight;
  bool skip_preflight = false;
  // cdc without a checkpoint: where to start (empty: the server's current position).
  binlog::StartPosition cdc_start;
  // Replay binlog files from this folder instead of streaming from the server.
  std::string binlog_dir;
  // When the binlog the checkpoint resumes from was purged: a new full load of every captured
  // table, then changes from its snapshot (--resnapshot, [capture] when_purged = "resnapshot").
  // False: stop with one line that says so.
  bool resnapshot = false;
  // The status server's metrics ([ops], docs/operations.md); nullptr: none are kept.
  ops::Metrics* metrics = nullptr;
};

struct CaptureStats {
  uint64_t full_load_rows = 0;
  uint64_t inserts = 0, updates = 0, deletes = 0;
  uint64_t transactions = 0;
  uint64_t truncates = 0;  // TRUNCATE / DROP TABLE / RENAME TABLE of a captured table
  uint64_t files = 0;      // change files flushed
};

// Log lines (progress, events worth knowing); `transient` lines redraw a progress bar in place.
using CaptureLog = std::function<void(const std::string& line, bool transient)>;

// The one-line error for a resume position whose binlog the server no longer has: `what` needs
// `needs` ("the checkpoint", "binlog.000003:1234 (GTID 0-1-7)"), `oldest` is the oldest binlog of
// SHOW BINARY LOGS; it names the recovery (--resnapshot).
Status PurgedBinlogError(const std::string& what, const std::string& needs,
                         const std::string& oldest);

// Runs until the migration is done (full-load) or *stop becomes true (cdc): then it finishes the
// transaction in progress, flushes, checkpoints and returns Ok. A second run resumes from the
// checkpoint and writes the same file names with the same bytes.
Status RunCapture(const CaptureOptions& options, const std::atomic<bool>* stop,
                  const CaptureLog& log, CaptureStats* stats);

}  // namespace binlake::source
