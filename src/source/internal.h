// Helpers shared by the source module's files (not part of its public API).
#pragma once

#include <string>
#include <string_view>

#include "source/source.h"

namespace binlake::source {

// 'text' as an SQL string literal.
std::string SqlQuote(const std::string& s);
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
