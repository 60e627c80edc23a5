// The trigger (the seed's S3 event + Lambda): watches the staging folder and hands each new file,
// once and in name order per table, to the apply (or to an external command).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "ops/ops.h"
#include "util/status.h"

namespace binlake::trigger {

// `--runner spark` (docs/spark.md): the files go to jobs/spark/binlake_apply.py instead, one job
// run per scan (at most max_files files), as the seed's Lambda starts the Glue job.
struct SparkRunner {
  bool enabled = false;
  std::string submit;             // shell command line that runs a PySpark script
  std::string job;                // the job script
  std::vector<std::string> args;  // extra job arguments
  std::string staging, lake;      // the roots as Spark reaches them; "": as binlake does
  size_t max_files = 1000;
};

struct TriggerOptions {
  std::string staging;       // the staging root URI to watch (a folder or s3://bucket/prefix)
  lake::ApplyOptions apply;  // the built-in apply (the "Glue job")
  // Instead of the built-in apply: run `<exec> <staging root> <schema>/<table>/<file>` per file
  // (as the seed's Lambda passes the bucket and the key to Glue); a non-zero exit stops the table.
  std::string exec;
  SparkRunner spark;
  uint32_t poll_ms = 1000;  // listing safety net besides inotify
  int parallelism = 2;      // tables applied at the same time
  bool once = false;        // apply what is there, then return
  // With `once`: stop retrying tables that failed on transient store errors after this many
  // ms and return kUnavailable (their files stay staged for the next start); 0: keep trying.
  int64_t once_retry_limit_ms = 0;
  // Bucket notifications (docs/s3.md "Bucket notifications"): listen on "host:port" for the
  // store's event messages; each one for a key under the staging URI wakes a listing at once.
  // Events are hints: the listing decides, so lost, repeated or reordered events change nothing.
  std::string notify_listen;  // empty: off
  std::string notify_token;   // the Bearer token senders must present; empty: none
  // The status server's metrics ([ops], docs/operations.md); nullptr: none are kept.
  ops::Metrics* metrics = nullptr;
};

struct TriggerStats {
  std::atomic<uint64_t> files{0};        // files handed to the apply or the command
  std::atomic<uint64_t> commits{0};      // lake commits
  std::atomic<uint64_t> skipped{0};      // files found already applied
  std::atomic<uint64_t> events{0};       // bucket notifications for the staging store
  std::atomic<uint16_t> notify_port{0};  // the listener's bound port (0: off)
};

using TriggerLog = std::function<void(const std::string& line)>;

// Runs until *stop becomes true (or, with `once`, until nothing is pending). Its state survives
// restarts: the built-in apply records each file's sequence in the Delta log (txn), the external
// command mode in <staging>/_binlake/trigger-state.json. A local staging folder is watched with
// inotify; any store is listed every poll_ms (ListObjectsV2 start-after on S3).
Status RunTrigger(const TriggerOptions& options, const std::atomic<bool>* stop,
                  const TriggerLog& log, TriggerStats* stats);

}  // namespace binlake::trigger
