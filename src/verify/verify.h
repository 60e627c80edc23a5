// `binlake verify`: each source table against its lake table: row counts, an order-independent
// checksum over every column, and where they differ the first differing primary keys
// (docs/verify.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "binlog/client.h"
#include "source/source.h"
#include "store/store.h"
#include "util/status.h"

namespace binlake::verify {

struct VerifyOptions {
  binlog::ConnectionOptions connection;  // the source ([source])
  source::TableFilter filter;            // the tables the pipeline carries ([capture])
  std::vector<std::string> tables;       // "schema.table" globs to narrow to (--table); empty: all
  std::string lake;                      // the lake root URI ([lake] path)
  store::StoreOptions stores;            // how to reach S3 ([s3])
  uint32_t wait_ms = 0;                  // retry until equal or this long has passed
  size_t max_diffs = 10;                 // differing rows described per table
  std::function<void(const std::string&)> log;  // retries and slow tables; may be empty
};

enum class TableStatus { kOk, kDiff, kMissing };
const char* TableStatusName(TableStatus status);  // "OK", "DIFF", "MISSING"

// One differing row. Keys are the primary key columns (all columns without a primary key).
struct RowDiff {
  enum class Kind {
    kMissingInLake,  // in the source, not (or fewer times) in the lake
    kExtraInLake,    // in the lake, not (or fewer times) in the source
    kValuesDiffer,   // same key, other values in `columns`
    kWrongBucket,    // same row, but in another bucket folder than its key hashes to
  };
  Kind kind = Kind::kMissingInLake;
  std::vector<std::pair<std::string, std::optional<std::string>>> key;  // column, value (nullopt:
                                                                        // NULL)
  std::string key_text;                                                 // "id=5, name='x'"
  std::vector<std::string> columns;  // kValuesDiffer: the differing columns
  int64_t source_copies = 0, lake_copies = 0;
  int lake_bucket = -1, source_bucket = -1;  // kWrongBucket; lake -1: outside the bucket folders
  std::string Describe() const;  // "missing in lake", "values differ in columns a, b", ...
};

struct TableReport {
  std::string schema, table;
  TableStatus status = TableStatus::kOk;
  int64_t source_rows = -1, lake_rows = -1;    // -1: no such table on that side
  std::string source_checksum, lake_checksum;  // 32 hex digits; empty: no such table
  int buckets = 0;                             // the lake table's binlake.buckets
  std::vector<int> differing_buckets;          // the value `buckets`: files outside the folders
  std::vector<std::string> problems;  // schema differences, files outside the bucket folders
  std::string note;                   // said of an OK table: an empty source table, no lake table
  std::vector<RowDiff> diffs;         // sorted by key, at most VerifyOptions::max_diffs
  uint64_t differing_rows = 0;        // all differing rows found (diffs holds the first ones)
  double seconds = 0;
};

struct VerifyReport {
  std::vector<TableReport> tables;  // by schema.table
  std::string source_position;      // the binlog position of the source snapshot compared
  int attempts = 0;
  bool equal() const;  // every table OK
};

// Compares the selected source tables, read in one consistent snapshot (SELECT, streamed), with
// the lake tables as of their latest Delta version. Source values go through the lake's own type
// mapping (lake::MapColumn, lake::AppendValue), so both sides are compared as Arrow values. With
// wait_ms, retries until equal or the time is up. Errors: connection, unreadable lake, a --table
// pattern that matches nothing.
Result<VerifyReport> VerifyTables(const VerifyOptions& options);

}  // namespace binlake::verify
