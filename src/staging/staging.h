// The staging store: DMS-compatible CSV change files, their schemas and manifests, and the
// capture checkpoint that makes a restart write the same files with the same bytes.
//
// Objects under the staging store (a local folder or an S3 prefix; docs/staging.md):
//   <schema>/<table>/LOAD00000001.csv ...                  full load (hex counter, DMS style)
//   <schema>/<table>/<yyyyMMdd-HHmmssfff>-<seq:010>.csv    changes; name order == binlog order
//   _binlake/schemas/<schema>/<table>/<version:05>.json    each schema version of a table
//   _binlake/files/<schema>/<table>/<csv name>.json        manifest of each CSV (positions, counts)
//   _binlake/checkpoint.json                               where the capture resumes
//   _binlake/flush-intent.json                             the flush in progress (crash recovery)
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "util/status.h"

namespace binlake::staging {

// The DMS CSV options users rely on.
struct CsvOptions {
  char delimiter = ',';
  // Written unquoted for SQL NULL. A string value equal to it is always quoted, so the two never
  // mix up: with the default "", NULL is an empty field and the empty string is "".
  std::string null_value;
  bool header = false;                    // AddColumnName: a first row with the column names
  bool include_op_for_full_load = false;  // IncludeOpForFullLoad: "I" first in LOAD files
  std::string timestamp_column;           // TimestampColumnName; empty: no timestamp column
  enum class CdcMode { kAll, kInsertsOnly, kInsertsAndUpdates };
  CdcMode cdc_mode = CdcMode::kAll;
  uint64_t max_file_bytes = uint64_t{1} << 30;  // MaxFileSize; a file is cut at a row (LOAD) or
                                                // transaction (CDC) boundary once it exceeds this
};

// When the change log closes its files (CdcMaxBatchInterval / CdcMinFileSize).
struct FlushPolicy {
  uint32_t interval_ms = 1000;              // oldest pending change waits at most this long
  uint64_t min_bytes = uint64_t{32} << 20;  // or flush once this many bytes are pending
};

// A binlog position: the capture's resume points and each file's range.
struct SourcePosition {
  std::string file;
  uint64_t pos = 0;
  std::string gtid;  // MariaDB GTID state / MySQL GTID of the last transaction, "" if none
  bool empty() const { return file.empty(); }
  std::string ToString() const;  // "binlog.000003:1234"
  bool operator==(const SourcePosition&) const = default;
};

// One column of a table schema version.
struct ColumnSchema {
  std::string name;
  std::string mysql_type;   // information_schema COLUMN_TYPE style: "decimal(10,2)", "int unsigned"
  uint8_t binlog_type = 0;  // binlog::ColumnType, resolved (ENUM/SET as such)
  uint16_t binlog_meta = 0;
  bool nullable = true;
  bool is_unsigned = false;
  uint32_t collation = 0;
  std::vector<std::string> enum_values;  // ENUM names, or SET names
  int pk_position = -1;                  // position in the primary key, -1 if not in it
  // In the version that added the column: the canonical text of the value the rows that existed
  // got (ADD COLUMN ... DEFAULT, or the implicit default of a NOT NULL column), read from
  // information_schema; unset: NULL, or not known. Not part of the shape.
  std::optional<std::string> default_value;
  bool operator==(const ColumnSchema&) const = default;
};

struct TableSchema {
  std::string schema;
  std::string table;
  std::vector<ColumnSchema> columns;
  bool has_primary_key() const;
  // Same columns (names, types, keys) — a different schema needs a new version.
  bool SameShape(const TableSchema& other) const;
};

// One CSV cell as canonical text (docs/staging.md): the CSV writer only adds quoting.
struct Cell {
  bool is_null = false;
  std::string_view text;
};

// Writes one RFC 4180 record into `out` (no trailing newline): quotes a field when it holds the
// delimiter, a quote, CR or LF, or equals the null token; NULL cells become the null token.
void AppendCsvRecord(std::span<const Cell> cells, const CsvOptions& options, std::string* out);

// Reads RFC 4180 records back (the change-file reader): distinguishes a quoted value equal to the
// null token from NULL. Corruption with the line number for bad quoting or a wrong field count.
// Records end with LF or CRLF; `expected_fields` 0 accepts any count; `first_line`: the line
// number of the data's first line (a block of a bigger file).
class CsvReader {
 public:
  CsvReader(std::string_view data, const CsvOptions& options, size_t expected_fields,
            size_t first_line = 1);
  // False at the end of the data; errors through status().
  bool Next(std::vector<std::optional<std::string>>* fields);
  // As Next, without copies: each field (nullopt: NULL) views the data, or the reader's own
  // buffer for a quoted field with doubled quotes; valid until the next call.
  bool NextViews(std::vector<std::optional<std::string_view>>* fields);
  const Status& status() const { return status_; }
  size_t line() const { return line_; }  // 1-based line where the last record read starts
  // The last record read as it is in the data, with its line end when it has one.
  std::string_view record() const { return data_.substr(record_start_, pos_ - record_start_); }

 private:
  bool Fail(const std::string& what);
  std::string_view data_;
  size_t pos_ = 0;
  size_t record_start_ = 0;
  size_t line_ = 0;
  size_t next_line_ = 1;
  CsvOptions options_;
  size_t expected_;
  Status status_;
  std::deque<std::string> unquoted_;  // per field index (a deque: growing keeps the views)
  std::vector<std::optional<std::string_view>> views_;
};

// Reads a CSV object in blocks of whole records (each about `block_bytes`, longer when a record
// is), so an object of any size is parsed with CsvReader in bounded memory. A record ends at a LF
// outside quotes; the rest of a block is carried into the next one.
class CsvBlockReader {
 public:
  // Streams `key` through ObjectStore::Open; `store` must outlive the reader.
  static Result<std::unique_ptr<CsvBlockReader>> Open(store::ObjectStore& store,
                                                      const std::string& key,
                                                      size_t block_bytes = size_t{8} << 20);
  // A local file (a local store on its folder).
  static Result<std::unique_ptr<CsvBlockReader>> Open(const std::string& path,
                                                      size_t block_bytes = size_t{8} << 20);
  ~CsvBlockReader();
  CsvBlockReader(const CsvBlockReader&) = delete;
  CsvBlockReader& operator=(const CsvBlockReader&) = delete;

  // The next block (false at the end of the object); `first_line`: the object's 1-based line
  // number where the block starts (CsvReader's `first_line`).
  Result<bool> Next(std::string* block, uint64_t* first_line);
  // The file or object read, for messages.
  const std::string& path() const { return path_; }
  // Checks the whole object against its manifest's size and sha256 when the end is read: Next
  // then fails (Corruption) on a partial or altered file, before its last block is returned.
  void VerifyAgainst(uint64_t bytes, std::string sha256_hex);

 private:
  CsvBlockReader(std::unique_ptr<store::ObjectStore> owned, std::unique_ptr<store::ObjectReader> in,
                 std::string path, size_t block_bytes);
  Status CheckExpected();
  std::unique_ptr<store::ObjectStore> owned_store_;  // the path-based Open's local store
  std::unique_ptr<store::ObjectReader> in_;
  std::string path_;
  size_t block_bytes_;
  std::string carry_;  // read past the last block's end
  uint64_t line_ = 1;
  bool eof_ = false;
  struct Expected;
  std::unique_ptr<Expected> expected_;  // VerifyAgainst's size and digest, and the running hash
};

// What the manifest beside each CSV records, so an exact merge needs nothing else.
struct FileManifest {
  std::string name;  // CSV file name
  std::string schema, table;
  std::string kind;       // "load" or "cdc"
  uint64_t sequence = 0;  // CDC: global file sequence; LOAD: part number
  int schema_version = 0;
  uint64_t rows = 0, inserts = 0, updates = 0, deletes = 0, bytes = 0;
  SourcePosition start;  // CDC: position of the first transaction; LOAD: snapshot position
  SourcePosition end;    // CDC: position after the last transaction; LOAD: snapshot
  std::string first_commit, last_commit;  // commit timestamps "yyyy-MM-dd HH:mm:ss.SSSSSS"
  std::string sha256;                     // of the CSV bytes
  // CDC: the table was emptied (TRUNCATE, DROP TABLE) before the file's rows; in the manifest
  // only when true.
  bool truncate = false;
  // LOAD: the sequence of the last change file staged before this load (0: none). The load holds
  // their changes, so the lake skips them after it (a re-load: docs/staging.md "Re-load").
  uint64_t after_sequence = 0;
};

// The capture's durable state.
struct Checkpoint {
  SourcePosition position;        // resume the binlog stream here (a transaction boundary)
  uint64_t next_sequence = 1;     // sequence of the next CDC file
  uint64_t last_name_millis = 0;  // CDC names never go back in time, even if commit times do
  bool full_load_done = false;
  SourcePosition snapshot;                     // the full load's snapshot position
  std::map<std::string, int> schema_versions;  // "schema.table" -> latest version
};

// Writes the full load of one table: LOAD00000001.csv, LOAD00000002.csv, ... cut at
// max_file_bytes, each built in the spool and published (after its manifest) as a whole object.
// Valid while its Staging lives.
class LoadWriter {
 public:
  virtual ~LoadWriter() = default;
  virtual Status AppendRow(std::span<const Cell> cells) = 0;
  virtual Status Finish() = 0;  // closes the last file; then the files are all visible
  virtual uint64_t rows() const = 0;
};

// The staging store for one capture.
class Staging {
 public:
  virtual ~Staging() = default;

  // Opens the staging store `uri` (a folder, file:///folder or s3://bucket/prefix; a relative
  // folder is taken from the working directory) and loads the checkpoint, the schemas it names and
  // a flush intent from it. Files under construction are built in the spool: the staging folder
  // itself for a local store (published by hard link), else `spool_dir` (created 0750; "" :
  // DefaultSpoolDir(uri)). Leftovers of a crash (`.*.tmp` files) are removed from the spool.
  static Result<std::unique_ptr<Staging>> Open(const std::string& uri,
                                               const store::StoreOptions& store_options,
                                               const CsvOptions& csv, const FlushPolicy& flush,
                                               const std::string& spool_dir = "");
  // The same with default store options (a local folder).
  static Result<std::unique_ptr<Staging>> Open(const std::string& uri, const CsvOptions& csv,
                                               const FlushPolicy& flush);
  // On a store already open (its LocalPath decides whether the spool is its folder).
  static Result<std::unique_ptr<Staging>> Open(std::unique_ptr<store::ObjectStore> store,
                                               const CsvOptions& csv, const FlushPolicy& flush,
                                               const std::string& spool_dir = "");

  virtual const Checkpoint& checkpoint() const = 0;

  // Registers a table schema; returns its version (the latest one when SameShape, else a new
  // version written to _binlake/schemas). `since` is where it took effect.
  virtual Result<int> RegisterSchema(const TableSchema& schema, const SourcePosition& since) = 0;
  virtual const TableSchema* LatestSchema(const std::string& schema,
                                          const std::string& table) const = 0;

  // ---- full load
  // Removes the LOAD files of every table (a full load that did not finish is redone whole) and
  // marks the full load not done. A re-load (the binlog the checkpoint needs was purged) calls it
  // too: an interrupted flush is then given up, its sequences counted as used, so every change
  // file staged so far has a sequence below the new LOAD files' `after_sequence`.
  virtual Status ResetFullLoad() = 0;
  // A table's LOAD files (its earlier ones are deleted). Its `after_sequence` covers every change
  // file staged or pending: a table loaded while changes stream must be flushed before any change
  // after its snapshot is staged.
  virtual Result<std::unique_ptr<LoadWriter>> BeginLoad(const std::string& schema,
                                                        const std::string& table,
                                                        const SourcePosition& snapshot) = 0;
  // Records that the whole full load is done at `snapshot`: CDC resumes from there.
  virtual Status FinishFullLoad(const SourcePosition& snapshot) = 0;

  // ---- changes (CDC), whole transactions only
  // `commit_time_us`: the transaction's commit time, microseconds since the epoch (UTC).
  virtual Status BeginTransaction(const SourcePosition& start, uint64_t commit_time_us) = 0;
  // op 'I', 'U' (after-image) or 'D' (before-image), cells in schema column order.
  virtual Status Append(const std::string& schema, const std::string& table, char op,
                        std::span<const Cell> cells) = 0;
  // The table is emptied here (TRUNCATE TABLE, DROP TABLE): its rows so far stay in the file they
  // are in; a new file starts, marked `truncate`, with the rows that follow.
  virtual Status Truncate(const std::string& schema, const std::string& table) = 0;
  // The table's latest schema version gets a change file in this transaction even without rows
  // (a schema change no row event shows yet: the lake follows it with that file).
  virtual Status Touch(const std::string& schema, const std::string& table) = 0;
  // `end`: the position after the transaction's last event.
  virtual Status Commit(const SourcePosition& end) = 0;
  // Drops what the open transaction appended (a stop or an error inside it).
  virtual Status AbortTransaction() = 0;
  // True when the flush policy says to close the files now (only between transactions). During
  // recovery from a crash it is true exactly at the boundary of the interrupted flush. The
  // interval counts from the first call that sees the pending changes: call it after each Commit.
  virtual bool ShouldFlush(uint64_t now_ms) const = 0;
  // Publishes every pending file (the intent, then per file its manifest and its CSV), then the
  // checkpoint.
  virtual Status Flush(uint64_t now_ms) = 0;
  // No transaction pending: moves the checkpoint to `pos` (idle source) without writing files;
  // a no-op while changes are pending. Writes the checkpoint at most once a second.
  virtual Status AdvanceIdle(const SourcePosition& pos) = 0;
  virtual uint64_t pending_bytes() const = 0;
  virtual bool in_transaction() const = 0;
};

// The store a staging URI names (a relative folder is taken from the working directory).
Result<std::unique_ptr<store::ObjectStore>> OpenStagingStore(const std::string& uri,
                                                             const store::StoreOptions& options);

// The spool of a remote staging store when [capture] spool_dir is not set:
// $XDG_CACHE_HOME/binlake/spool/<hash of the URI> (else ~/.cache/binlake/spool/<hash>).
Result<std::string> DefaultSpoolDir(std::string_view uri);

// Reads a manifest / schema written by Staging (for the apply stage and tests).
Result<FileManifest> ReadManifest(store::ObjectStore& store, const std::string& schema,
                                  const std::string& table, const std::string& csv_name);
Result<TableSchema> ReadSchema(store::ObjectStore& store, const std::string& schema,
                               const std::string& table, int version);
// The same from a local staging folder.
Result<FileManifest> ReadManifest(const std::string& root, const std::string& schema,
                                  const std::string& table, const std::string& csv_name);
Result<TableSchema> ReadSchema(const std::string& root, const std::string& schema,
                               const std::string& table, int version);

}  // namespace binlake::staging
