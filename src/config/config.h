// binlake's TOML configuration: one file describes the source, and later the staging and the lake.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/store.h"
#include "util/status.h"

namespace binlake::config {

struct TlsConfig {
  bool enabled = false;
  std::string ca;    // CA bundle that signs the server certificate
  std::string cert;  // client certificate (optional)
  std::string key;   // client key (optional)
  bool verify_server_cert = true;
};

struct SourceConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string user = "binlake";
  std::string password_env = "BINLAKE_MYSQL_PASSWORD";
  std::string password_file;  // read when set; must not be readable by group/others
  std::string password;    // resolved from password_env / password_file, never from the file itself
  uint32_t server_id = 0;  // 0: derived from the host name and pid-free hash; set it explicitly
  uint32_t heartbeat_ms = 1000;
  uint32_t connect_timeout_s = 10;
  uint32_t read_timeout_s = 30;
  uint32_t max_reconnect_attempts = 0;  // 0: retry forever (with backoff)
  TlsConfig tls;
};

struct StartConfig {
  std::string binlog_file;  // empty: the server's current position
  uint64_t binlog_pos = 4;
  std::string gtid;  // MariaDB GTID state such as "0-1-100"
};

// [capture]: the DMS-task equivalent (docs/config.md).
struct CaptureConfig {
  std::string staging = ".binlake/staging";  // staging store: a folder, file:///... or s3://...
  std::string spool_dir;  // where files are built for a remote staging; "": a cache folder
  std::string migration_type = "full-load-and-cdc";  // full-load | cdc | full-load-and-cdc
  std::vector<std::string> include = {"*.*"};
  std::vector<std::string> exclude;
  // [capture.csv]
  std::string delimiter = ",";
  std::string null_value;
  bool header = false;
  bool include_op_for_full_load = false;
  std::string timestamp_column;
  std::string cdc_mode = "all";  // all | inserts-only | inserts-and-updates
  uint64_t max_file_size_mb = 1024;
  // [capture.flush]
  uint32_t flush_interval_ms = 1000;
  uint64_t flush_min_file_size_mb = 32;
  uint32_t min_retention_hours = 24;
  // The checkpoint's binlog was purged: "fail" (stop with one line) or "resnapshot" (a new full
  // load, then changes from it).
  std::string when_purged = "fail";
};

// [lake]: where and how the apply writes lake tables.
struct LakeConfig {
  std::string path = ".binlake/lake";
  uint32_t buckets = 0;                      // 0: automatic (docs/lake.md)
  std::string no_primary_key = "whole-row";  // whole-row | reject
  std::string dropped_columns = "keep";      // keep | drop (a DROP COLUMN in the source)
  uint32_t trigger_poll_ms = 1000;
  uint32_t trigger_parallelism = 2;
  std::string runner = "builtin";       // builtin | spark: who applies the files (docs/spark.md)
  std::string format = "delta";         // delta | csv (plain CSV files, docs/lake.md)
  uint32_t checkpoint_interval = 100;   // a Delta log checkpoint every N versions; 0: none
  uint32_t log_retention_versions = 0;  // > 0: older JSON commits are deleted; 0: kept
  // What a merge holds in memory, about (docs/lake.md "Large transactions"); a bigger change
  // file is split by key into parts under spill_dir ("": $TMPDIR, else /tmp).
  uint32_t memory_mb = 256;
  std::string spill_dir;
  // Bucket notifications for the trigger (docs/s3.md): "host:port" to listen on; "": off.
  std::string notify_listen;
  std::string notify_token_file;  // a 0600 file with the Bearer token senders must present
  std::string notify_token;       // read from it
};

// [spark]: `binlake trigger --runner spark` (docs/spark.md) starts jobs/spark/binlake_apply.py.
struct SparkConfig {
  // The command that starts a PySpark script (a shell command line; the job and its arguments
  // follow). The default fetches delta-spark from Maven Central on the first run.
  std::string submit;
  std::string job;                // the job script; "": the one next to binlake (BINLAKE_SPARK_JOB)
  std::vector<std::string> args;  // extra job arguments (e.g. ["--shuffle-partitions", "8"])
  std::string staging;            // the staging root as Spark reaches it (s3a://...); "": the same
  std::string lake;               // the lake root as Spark reaches it; "": the same
  uint32_t max_files = 1000;      // staging files per job run at most
};

// [ops]: the status server of `binlake run` (docs/operations.md): /metrics, /api/status, /.
struct OpsConfig {
  bool enabled = false;
  std::string listen = "127.0.0.1:7070";  // host:port; port 0: any free port
};

struct Config {
  std::string path;
  OpsConfig ops;
  LakeConfig lake;
  SparkConfig spark;
  SourceConfig source;
  StartConfig start;
  CaptureConfig capture;
  store::StoreOptions store;  // [s3]: how to reach an S3 store (never credentials)
};

// Parses `path`; unknown keys are errors (a typo must not silently fall back to a default).
// The password is resolved from the environment or the password file.
Result<Config> LoadConfig(const std::string& path);
// Same, from TOML text (for tests); `origin` names it in errors.
Result<Config> ParseConfig(std::string_view toml_text, const std::string& origin);

// Resolves source.password from password_file (checked to be 0600 or stricter) or password_env.
Status ResolvePassword(SourceConfig* source);

}  // namespace binlake::config
