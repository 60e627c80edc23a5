// Small builders for the tests that stage files by hand (the lake tests).
#pragma once

#include <cstdint>
#include <string>

#include "staging/staging.h"

namespace binlake::testing {

// A column of a staging schema; UNSIGNED follows the type text.
inline staging::ColumnSchema Col(const std::string& name, const std::string& type, int pk = -1) {
  staging::ColumnSchema c;
  c.name = name;
  c.mysql_type = type;
  c.is_unsigned = type.find("unsigned") != std::string::npos;
  c.pk_position = pk;
  return c;
}

// A position in the first binlog file.
inline staging::SourcePosition Pos(uint64_t p) { return {"binlog.000001", p, ""}; }

}  // namespace binlake::testing
