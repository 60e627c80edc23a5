// The staging side of an apply (internal to src/lake): which tables and files one call covers,
// their rows, and the bucket of a row, so every lake format applies the same files the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lake/lake.h"
#include "staging/staging.h"
#include "store/store.h"
#include "util/status.h"

namespace binlake::lake {

// One table's files in an ApplyFiles call.
struct StagedTable {
  std::shared_ptr<store::ObjectStore> root;  // the staging store
  std::string schema, table;
  std::set<std::string> names;  // the file names asked for
  bool AnyLoadAsked() const;
  std::string Key(const std::string& name) const { return schema + "/" + table + "/" + name; }
  std::string Where(const std::string& name) const { return root->uri() + "/" + Key(name); }
  std::string Dir() const { return root->uri() + "/" + schema + "/" + table; }
};

// Groups staging files by table. A file is a path or URI `<root>/<schema>/<table>/NAME.csv`
// (root: options.staging, else three levels above the file) or, with options.staging, a key
// `<schema>/<table>/NAME.csv` in it.
Result<std::vector<StagedTable>> GroupStagedFiles(const ApplyOptions& options,
                                                  const std::vector<std::string>& files);

// The table's staged CSV names, sorted (LOAD and change files).
Result<std::vector<std::string>> ListStagedCsv(const StagedTable& t);
// The sequence in a change file's name (`<time>-<sequence>.csv`); nullopt for other names.
std::optional<uint64_t> SequenceOfName(std::string_view name);

Result<staging::FileManifest> StagedManifest(const StagedTable& t, const std::string& name);
Result<staging::TableSchema> StagedSchema(const StagedTable& t, int version);
// Block reads of a staged CSV in bounded memory.
Result<std::unique_ptr<staging::CsvBlockReader>> OpenStagedCsv(const StagedTable& t,
                                                               const std::string& name);

// The LOAD files of a table and their identity (the first 16 hex digits of each sha256).
struct StagedLoad {
  std::vector<std::string> names;
  std::string id;
  int schema_version = 0;
  uint64_t rows = 0;
};
Result<StagedLoad> StagedLoadFiles(const StagedTable& t);

// The change files to apply for the newest one asked for: every staged change file with a
// sequence above `applied` and up to it, in sequence order (a late trigger never leaves a gap).
// Empty when no change file was asked for. `skipped`: how many asked-for files were at or below
// `applied`.
Result<std::vector<std::pair<staging::FileManifest, std::string>>> ChangeFilesUpTo(
    const StagedTable& t, int64_t applied = -1, int* skipped = nullptr);

using Cells = std::vector<std::optional<std::string>>;

struct StagedRow {
  char op = 'I';
  Cells cells;  // the table's columns, canonical text (nullopt: NULL)
};

// Reads a staging CSV (docs/staging.md) into rows: the Op field checked, the timestamp dropped.
Status ReadStagedRows(const staging::CsvOptions& csv, size_t columns, const StagedTable& t,
                      const std::string& name, bool load, std::vector<StagedRow>* rows);

// BucketOf the key columns of a row; NULL hashes as "\x01NULL".
int BucketOfCells(const std::vector<int>& key, const Cells& cells, int buckets);

}  // namespace binlake::lake
