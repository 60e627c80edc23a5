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
  // The last change-file sequence staged before the load: the table's applied sequence once the
  // load is applied (0 for a first load; docs/lake.md "Re-loads").
  uint64_t after_sequence = 0;
};
Result<StagedLoad> StagedLoadFiles(const StagedTable& t);

// What an apply of a table knows of its lake table.
struct LakeTableState {
  bool exists = false;
  std::string load_id;   // the LOAD identity it was built from ("" if none)
  int64_t applied = -1;  // its applied staging sequence (txn), -1 if none
};

// The full load an apply of `t` applies first, if any: the table's LOAD files when one of them
// is asked for or the table does not exist yet, or a newer load (another identity) when a change
// file to apply comes after it (sequence > its after_sequence). nullopt when the lake already has
// the staged load or there is none. A newer load is not applied only for the change files staged
// before it: while a re-load is being staged they still apply to the table as it is.
Result<std::optional<StagedLoad>> LoadToApply(const StagedTable& t, const LakeTableState& lake);

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
