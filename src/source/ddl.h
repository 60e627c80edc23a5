// The few DDL statements whose effect on rows the binlog does not show as row events: TRUNCATE
// TABLE, DROP TABLE and RENAME TABLE. Not a DDL parser: column changes come from the TABLE_MAP
// events (docs/lake.md "Schema changes"); this only finds the table names these statements name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace binlake::source {

struct TableName {
  std::string schema, table;
  bool operator==(const TableName&) const = default;
};

struct TableDdl {
  std::vector<TableName> emptied;     // TRUNCATE, DROP TABLE, RENAME's old names: no rows remain
  std::vector<TableName> renamed_to;  // RENAME TABLE / ALTER TABLE ... RENAME: the new names
  // ALTER TABLE (other than a rename) and CREATE/DROP INDEX: the table's columns or key may have
  // changed, which the binlog shows only with the table's next row event (docs/lake.md).
  std::vector<TableName> altered;
};

// The tables a statement empties, renames or alters; every list empty for any other statement
// (or one this reader cannot follow). Unqualified names are in `default_schema`. Comments,
// backquoted names (with doubled backquotes), IF EXISTS and DROP TEMPORARY (ignored: not logged as
// rows) are understood.
TableDdl ReadTableDdl(std::string_view query, std::string_view default_schema);

}  // namespace binlake::source
