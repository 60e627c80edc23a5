// Helpers shared by the lake sources (not a public API).
#pragma once

#include <arrow/api.h>

#include <cstdint>
#include <memory>
#include <string>

#include "util/status.h"

namespace binlake::lake {

std::string NewUuid();  // random version-4 UUID
int64_t NowMillis();    // wall clock, ms since the epoch (Delta timestamps)
// An Arrow status as a binlake one (Internal, naming `where`).
Status Check(const arrow::Status& s, const std::string& where);
std::string DeltaLogName(int64_t version);  // 00000000000000000007.json
Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path);
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromDelta(const std::string& schema_string);

}  // namespace binlake::lake
