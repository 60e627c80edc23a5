// One row change as a JSON line: the output of `binlake binlog-dump` and `binlake tail`.
#pragma once

#include <string>

#include "binlog/decoder.h"

namespace binlake::binlog {

// Appends {"pos":"file:offset","gtid":...,"op":"I|U|D","schema":...,"table":...,"before":{...},
// "after":{...}} and a newline. Columns are named from the metadata, else @1, @2, ...; columns
// absent from a MINIMAL/NOBLOB image are left out.
struct RowJsonOptions {
  bool enum_set_as_numbers = false;  // ENUM as its 1-based index, SET as its bitmask
};
void AppendRowJson(const EventContext& ctx, const RowChange& row, std::string* out,
                   const RowJsonOptions& options = {});

}  // namespace binlake::binlog
