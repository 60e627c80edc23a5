// MySQL 8 partial JSON updates (Json_diff_vector in PARTIAL_UPDATE_ROWS): parse and apply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace binlake::binlog {

enum class JsonDiffOp : uint8_t { kReplace = 0, kInsert = 1, kRemove = 2 };

// One diff as logged: operation, MySQL JSON path text, and the value as JSON text (printed by
// JsonBinaryToText; empty for kRemove).
struct JsonDiff {
  JsonDiffOp op = JsonDiffOp::kReplace;
  std::string path;
  std::string value;
};

// Parses the diff list (the bytes after the length prefix) into `out`. Corruption on truncated or
// impossible bytes.
Status ParseJsonDiffs(std::string_view bytes, std::vector<JsonDiff>* out);

// Applies `diffs` in order to the JSON text `before` (as JsonBinaryToText prints it) and writes the
// result, printed the same way (keys in MySQL binary order), to `after`. A path that does not fit
// the document is Corruption naming the path.
Status ApplyJsonDiffs(std::string_view before, const std::vector<JsonDiff>& diffs,
                      std::string* after);

}  // namespace binlake::binlog
