// The apply stage ("Glue job"): staged change files merged into Delta Lake tables of Parquet files
// bucketed by a hash of the primary key (docs/lake.md).
#pragma once

#include <arrow/api.h>
#include <arrow/io/interfaces.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "staging/staging.h"
#include "store/store.h"
#include "util/status.h"

namespace binlake::lake {

// ---- type mapping (docs/lake.md "Types")

enum class ValueKind {
  kInt,
  kDecimal,
  kFloat,
  kDouble,
  kDate,
  kTimestampNtz,
  kTimestamp,
  kString,
  kBinary
};

struct LakeType {
  ValueKind kind = ValueKind::kString;
  std::shared_ptr<arrow::DataType> arrow;
  std::string delta;        // Spark JSON schema type name: "long", "decimal(20,0)", "timestamp_ntz"
  bool unsigned64 = false;  // BIGINT UNSIGNED / BIT(64): values 0..2^64-1 only
};

// The exact lake type of a MySQL column; NotSupported for a type with no exact mapping.
Result<LakeType> MapColumn(const staging::ColumnSchema& column);
// The text of a date32 value ("2024-02-29") and of a microsecond timestamp
// ("2024-02-29T23:59:59.000001"; `separator` between the date and the time).
std::string FormatDate(int64_t days);
std::string FormatMicros(int64_t micros, char separator = 'T');
// Appends the canonical CSV text of a value (nullopt: NULL) to a builder of `type.arrow`.
Status AppendValue(const LakeType& type, const std::optional<std::string_view>& text,
                   arrow::ArrayBuilder* builder);

// ---- Delta log

struct DeltaSnapshot {
  int64_t version = -1;  // -1: no table yet
  std::string table_id;
  std::string schema_string;
  std::map<std::string, std::string> configuration;
  int min_reader = 0, min_writer = 0;
  std::map<std::string, int64_t> files;  // active data files (path -> size)
  std::map<std::string, int64_t> txns;   // appId -> version
  int64_t checkpoint_version = -1;       // the checkpoint the replay started from; -1: none
};

// Each function takes the table's store (a view of the lake under `<schema>/<table>/`: keys
// `_delta_log/...`, `bucket=NNNN/...`); the string forms take a table URI (a folder or
// s3://bucket/prefix/schema/table) and open it with default options (tools and tests).

// The latest version: from the newest usable classic checkpoint (`_last_checkpoint`, else a
// listing of `_delta_log`), then the JSON commits after it; without one, from version 0.
Result<DeltaSnapshot> ReadDeltaLog(store::ObjectStore& table);
Result<DeltaSnapshot> ReadDeltaLog(const std::string& table_uri);
// Creates `_delta_log/<version>.json` only if absent (the store's create-if-absent: link(2)
// locally, If-None-Match: * on S3): false when another writer committed that version first.
Result<bool> TryCommitDelta(store::ObjectStore& table, int64_t version,
                            const std::vector<std::string>& action_lines);
Result<bool> TryCommitDelta(const std::string& table_uri, int64_t version,
                            const std::vector<std::string>& action_lines);
// Writes the classic checkpoint `_delta_log/<version:020>.checkpoint.parquet` of a committed
// version, then points `_last_checkpoint` at it (each object appears whole).
Status WriteDeltaCheckpoint(store::ObjectStore& table, int64_t version);
Status WriteDeltaCheckpoint(const std::string& table_uri, int64_t version);

// What the apply does after each commit (docs/lake.md "Checkpoints").
struct CheckpointOptions {
  int interval = 100;              // a checkpoint every `interval` versions; 0: never
  int log_retention_versions = 0;  // > 0: JSON commits older than the checkpoint covering
                                   // version - N are deleted; 0: the log is kept whole
};
// Writes a checkpoint when `version` is a multiple of the interval or the last checkpoint is at
// least an interval behind (a crash may have skipped one); then the optional log cleanup.
Status MaybeCheckpoint(store::ObjectStore& table, int64_t version,
                       const CheckpointOptions& options);
Status MaybeCheckpoint(const std::string& table_uri, int64_t version,
                       const CheckpointOptions& options);

// Reads the active files of the table's latest version into one Arrow table (tests, tools).
Result<std::shared_ptr<arrow::Table>> ReadLakeTable(store::ObjectStore& table);
Result<std::shared_ptr<arrow::Table>> ReadLakeTable(const std::string& table_uri);

// A lake file for Arrow/Parquet readers: a local store's file is read directly, a remote object
// is fetched whole (data files are bounded by the bucket size).
Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenArrowInput(store::ObjectStore& s,
                                                                    const std::string& key);

// ---- data files of any writer (docs/lake.md "Files written by other engines")

// The store key (relative to the table) of a data file whose path the Delta log names: log paths
// are URI references, percent-decoded here (`remove` actions keep the log's text). NotSupported
// for an absolute URI, Corruption for a bad escape.
Result<std::string> DataFileKey(const std::string& log_path);
// The bucket of one of binlake's own data files (`bucket=NNNN/...`, NNNN < buckets), from its
// key; -1 for any other file (another engine's, e.g. Spark's root-level `part-*.parquet`).
int BucketOfDataFile(const std::string& key, int buckets);
// A data file's batch as `table` (the table's Arrow schema): columns found by name and cast
// where a writer chose another Arrow type for the same Delta type (large_utf8, utf8_view,
// timestamp time zone labels, decimals, narrower integers, nullability). Corruption naming
// `file` and the column when one is missing or does not convert exactly.
// With `sources` (a schema change): field i of `table` comes from the batch's column named
// sources[i], or, when that is empty (a column the rows did not have), is fills[i] in every row
// (an added column's default; NULL without `fills` or when fills[i] is null).
Result<std::shared_ptr<arrow::RecordBatch>> AlignBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch, const std::shared_ptr<arrow::Schema>& table,
    const std::string& file, const std::vector<std::string>* sources = nullptr,
    const std::vector<std::shared_ptr<arrow::Scalar>>* fills = nullptr);
// The Arrow schema of a Delta schemaString of the types binlake writes.
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromDelta(const std::string& schema_string);

// The store view of one lake table: `<lake>/<schema>/<table>/`.
std::unique_ptr<store::ObjectStore> LakeTableStore(std::shared_ptr<store::ObjectStore> lake,
                                                   const std::string& schema,
                                                   const std::string& table);

// ---- apply

// What the apply writes: Delta tables, or plain CSV files (docs/lake.md "The CSV lake").
enum class LakeFormat { kDelta, kCsv };

struct ApplyOptions {
  std::string lake;            // lake root URI: <lake>/<schema>/<table>/ (a folder or s3://...)
  std::string staging;         // staging root URI; empty: three levels above each file
  store::StoreOptions stores;  // how to reach S3 ([s3])
  // Buckets of a new table; an existing table keeps its own count. 0: automatic, from the full
  // load's rows (at most 512Ki rows per bucket, a power of two >= 16), or 16 for a table created
  // by a change file.
  int buckets = 0;
  int threads = 0;  // buckets rewritten (and LOAD blocks parsed) in parallel; 0: one per core
  // A full load writes a bucket's rows as a row group once a thread holds this many; 0: about 2Mi
  // rows over all buckets and threads (memory stays bounded whatever the table's size).
  int64_t load_flush_rows = 0;
  // What a merge of change files may hold in memory, about (docs/lake.md "Large transactions"):
  // a change file bigger than a thread's share is split by key into parts on local disk and
  // merged part by part, whatever its size.
  int64_t memory_budget = int64_t{256} << 20;
  std::string spill_dir;       // where those parts go; empty: $TMPDIR, else /tmp
  int concurrent_applies = 1;  // ApplyFiles calls of this process at once: they share the budget
  staging::CsvOptions csv;
  bool reject_without_primary_key = false;       // else whole-row identity
  std::function<void(const std::string&)> warn;  // merge anomalies; default: stderr
  std::function<void(const std::string&)> info;  // schema changes; default: stderr
  // Progress of a long apply (a full load's rows, a run of change files), a few times a second
  // at most; a terminal redraws it in place. Unset: none.
  std::function<void(const std::string&)> progress;
  // A column dropped in the source stays in the lake table (its old values kept, NULL in rows
  // written since); false: the schema change drops it from the lake too.
  bool keep_dropped_columns = true;

  LakeFormat format = LakeFormat::kDelta;
  CheckpointOptions checkpoints;  // Delta log checkpoints after commits
};

struct ApplyStats {
  int commits = 0;
  int skipped = 0;  // files already applied
  int files_added = 0, files_removed = 0;
  uint64_t rows_written = 0;
  uint64_t bytes_written = 0;  // of the files added
  int schema_changes = 0;      // tables moved to a new schema version
};

// Applies staging CSV files: LOAD files rebuild their table, change files are merged in sequence
// order, once (the Delta txn records the sequence). Each file is a path or URI
// `<staging>/<schema>/<table>/<name>.csv`, or a key `<schema>/<table>/<name>.csv` relative to
// options.staging.
Result<ApplyStats> ApplyFiles(const ApplyOptions& options, const std::vector<std::string>& files);

// Which of these staging files an apply would still change, from the lake's Delta log alone (an
// external runner such as the Spark job is started only for them): LOAD files whose identity is
// not the table's `binlake.load`, change files above the table's txn version. Keys as given.
Result<std::vector<std::string>> PendingFiles(const ApplyOptions& options,
                                              const std::vector<std::string>& files);

// The bucket of a key: FNV-1a 64 of the canonical key texts joined by 0x1f, mod `buckets`.
int BucketOf(const std::vector<std::string_view>& key_texts, int buckets);
// The key text BucketOf gets for a NULL cell (a whole-row key of a table without a primary key).
inline constexpr std::string_view kNullKeyText = "\x01NULL";

}  // namespace binlake::lake
