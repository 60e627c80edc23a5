// The CSV lake ([lake] format = "csv"): each table a folder of plain CSV files in the Delta
// tables' bucket layout, with its own exactly-once state (docs/lake.md "The CSV lake").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "lake/staged.h"
#include "util/status.h"

namespace binlake::lake {

// ApplyFiles for LakeFormat::kCsv: the same files, order, skips and merge as the Delta apply.
Result<ApplyStats> ApplyCsvFiles(const ApplyOptions& options,
                                 const std::vector<std::string>& files);

// A CSV lake table as its state names it (tests, tools).
struct CsvLakeTable {
  int64_t sequence = 0;  // the last change file applied (0: a full load)
  std::vector<std::string> columns;
  std::vector<std::string> files;  // relative paths, by bucket
  std::vector<Cells> rows;         // all rows of those files, in file order
};
// `csv` gives the delimiter and NULL token the files were written with.
Result<CsvLakeTable> ReadCsvLakeTable(const std::string& table_dir, const staging::CsvOptions& csv);

}  // namespace binlake::lake
