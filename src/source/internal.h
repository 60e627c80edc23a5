// Helpers shared by the source module's files (not part of its public API).
#pragma once

#include <string>
#include <string_view>

#include "source/mysql_conn.h"
#include "source/source.h"

namespace binlake::source {

// 'text' as an SQL string literal.
std::string SqlQuote(const std::string& s);

// The canonical staging text of the value rows that existed got in an added column, from
// information_schema.COLUMNS (COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, EXTRA): an explicit DEFAULT
// literal, or a NOT NULL column's implicit default; nullopt for NULL. NotSupported (naming why)
// for a default this cannot know exactly: an expression, a BIT or binary literal.
Result<std::optional<std::string>> DefaultText(bool mariadb,
                                               const std::optional<std::string>& column_default,
                                               bool nullable, const std::string& data_type,
                                               const std::string& extra,
                                               const staging::ColumnSchema& column);
// ListTables over a plain SQL connection (the capture's, while it streams).
Result<std::vector<staging::TableSchema>> ListTables(MysqlConn& conn, const TableFilter& filter);
// `name` as an SQL identifier.
std::string QuoteIdent(std::string_view name);
// "include [*.*] exclude [a.*]" for messages.
std::string DescribeFilter(const TableFilter& filter);
// Appends the shortest text that reads back to the same float / double; -0 is written "0", as the
// server prints it, so the full load and the binlog agree.
void AppendShortestFloat(float f, std::string* out);
void AppendShortestDouble(double d, std::string* out);
// Appends the bytes as uppercase hex.
void AppendHexUpper(std::string_view bytes, std::string* out);

}  // namespace binlake::source
