// MySQL 8 partial JSON updates: applies binlog JSON diffs to the before-image.
#include "binlog/value.h"

namespace binlake::binlog {

Status DecodePartialJson(const ColumnDef&, ByteReader&, const Value&, Value*) {
  return Status::NotSupported("partial JSON update (binlog_row_value_options=PARTIAL_JSON)");
}

}  // namespace binlake::binlog
