// The source side of the capture: preflight checks, table selection, table schemas, and the
// consistent full load (snapshot tied to an exact binlog position).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "binlog/client.h"
#include "binlog/event.h"
#include "binlog/value.h"
#include "staging/staging.h"
#include "util/status.h"

namespace binlake::source {

// Which tables the capture takes: glob patterns over "schema.table" (`*` and `?`), DMS
// selection-rule style. System schemas (mysql, information_schema, performance_schema, sys) are
// never selected.
struct TableFilter {
  std::vector<std::string> include = {"*.*"};
  std::vector<std::string> exclude;
  bool Matches(const std::string& schema, const std::string& table) const;
};

struct PreflightProblem {
  bool error = true;  // false: a warning (capture runs, but something is lost or at risk)
  std::string what;   // "binlog_format is STATEMENT"
  std::string fix;    // "SET GLOBAL binlog_format = ROW (RDS: parameter group binlog_format=ROW)"
};

struct PreflightOptions {
  uint32_t min_retention_hours = 24;  // binlogs must outlive an outage this long
  bool need_snapshot = true;          // full load: SELECT on the tables (and RELOAD on MySQL)
};

struct PreflightReport {
  std::vector<PreflightProblem> problems;
  std::string server_version;
  bool is_mariadb = false;
  std::vector<staging::TableSchema> tables;  // the selected tables, from information_schema
  bool ok() const;                           // no errors (warnings allowed)
};

// Checks log_bin, binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL (warning
// without it, saying what is lost), binlog retention, privileges (REPLICATION SLAVE, REPLICATION
// CLIENT / BINLOG MONITOR, SELECT), and the selected tables (none selected is an error; a table
// without a primary key is a warning). Connection failures are the returned Status.
Result<PreflightReport> RunPreflight(const binlog::ConnectionOptions& conn,
                                     const TableFilter& filter, const PreflightOptions& options);

// The selected tables with their columns from information_schema (binlog type and metadata
// computed as the server logs them, so a TABLE_MAP of the same table has the SameShape).
Result<std::vector<staging::TableSchema>> ListTables(binlog::BinlogClient& client,
                                                     const TableFilter& filter);

// The schema a TABLE_MAP describes (names only with binlog_row_metadata=FULL).
staging::TableSchema SchemaFromTableMap(const binlog::TableMap& map);

// The canonical CSV text of a decoded binlog value (docs/staging.md); the full load produces the
// same text for the same stored value. Errors for values CSV cannot carry (partial JSON diffs).
Status CanonicalText(const binlog::Value& value, std::string* out);
// Same, with ENUM/SET numbers resolved to names from `column` when the binlog carried no names
// (binlog_row_metadata below FULL).
Status CanonicalText(const binlog::Value& value, const staging::ColumnSchema& column,
                     std::string* out);

struct LoadProgress {
  std::string table;  // "schema.table"
  uint64_t rows_done = 0;
  uint64_t rows_estimated = 0;  // information_schema TABLE_ROWS
  double seconds = 0;
};
using ProgressCallback = std::function<void(const LoadProgress&)>;

// A consistent snapshot of the source and the binlog position it corresponds to. MariaDB:
// START TRANSACTION WITH CONSISTENT SNAPSHOT and its binlog_snapshot_file/position, no lock.
// MySQL: FLUSH TABLES WITH READ LOCK only around the snapshot start and SHOW MASTER STATUS.
class Snapshot {
 public:
  static Result<std::unique_ptr<Snapshot>> Begin(const binlog::ConnectionOptions& conn);
  virtual ~Snapshot() = default;
  virtual const staging::SourcePosition& position() const = 0;
  // Streams the table in primary-key order (row by row, never the whole table in memory) as
  // canonical cells into `writer`; `progress` is called about every 0.5 s and at the end.
  // Checks `stop` between rows.
  virtual Status LoadTable(const staging::TableSchema& table, staging::LoadWriter* writer,
                           const ProgressCallback& progress, const std::atomic<bool>* stop) = 0;
};

}  // namespace binlake::source
