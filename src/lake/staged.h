// The staging side of an apply (internal to src/lake): which tables and files one call covers,
// their rows, and the bucket of a row, so every lake format applies the same files the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lake/lake.h"
#include "staging/staging.h"
#include "util/status.h"

namespace binlake::lake {

// One table's files in an ApplyFiles call.
struct StagedTable {
  std::string root, schema, table;
  std::set<std::string> names;  // the file names asked for
  bool AnyLoadAsked() const;
};

// Groups `<staging>/<schema>/<table>/NAME.csv` paths by table (root: options.staging, else three
// folders above the file).
Result<std::vector<StagedTable>> GroupStagedFiles(const ApplyOptions& options,
                                                  const std::vector<std::string>& files);

// The table's staged CSV names, sorted (LOAD and change files).
std::vector<std::string> ListStagedCsv(const std::string& dir);

// The LOAD files of a table and their identity (the first 16 hex digits of each sha256).
struct StagedLoad {
  std::vector<std::string> names;
  std::string id;
  int schema_version = 0;
};
Result<StagedLoad> StagedLoadFiles(const StagedTable& t);

// The change files to apply for the newest one asked for: every staged change file with a
// sequence up to it, in sequence order (a late trigger never leaves a gap). Empty when no change
// file was asked for.
Result<std::vector<std::pair<staging::FileManifest, std::string>>> ChangeFilesUpTo(
    const StagedTable& t);

using Cells = std::vector<std::optional<std::string>>;

struct StagedRow {
  char op = 'I';
  Cells cells;  // the table's columns, canonical text (nullopt: NULL)
};

// Reads a staging CSV (docs/staging.md) into rows: the Op field checked, the timestamp dropped.
Status ReadStagedRows(const staging::CsvOptions& csv, size_t columns, const std::string& path,
                      bool load, std::vector<StagedRow>* rows);

// BucketOf the key columns of a row; NULL hashes as "\x01NULL".
int BucketOfCells(const std::vector<int>& key, const Cells& cells, int buckets);

}  // namespace binlake::lake
