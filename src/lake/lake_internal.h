// Helpers shared by the lake sources (not a public API).
#pragma once

#include <arrow/api.h>
#include <arrow/io/interfaces.h>

#include <cstdint>
#include <memory>
#include <string>

#include "store/store.h"
#include "util/status.h"

namespace binlake::lake {

std::string NewUuid();  // random version-4 UUID
int64_t NowMillis();    // wall clock, ms since the epoch (Delta timestamps)
// An Arrow status as a binlake one (Internal, naming `where`).
Status Check(const arrow::Status& s, const std::string& where);
std::string DeltaLogName(int64_t version);  // 00000000000000000007.json
// A streaming write: nothing is visible until Close() succeeds (ObjectStore::Create).
Result<std::shared_ptr<arrow::io::OutputStream>> CreateArrowOutput(store::ObjectStore& s,
                                                                   const std::string& key);
Result<std::shared_ptr<arrow::Table>> ReadParquet(store::ObjectStore& s, const std::string& key);
// The store a table URI names, or nullptr for a local folder that does not exist (reading a
// table that is not there must not create its folder).
Result<std::shared_ptr<store::ObjectStore>> OpenTableStore(const std::string& uri,
                                                           const store::StoreOptions& options);
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromDelta(const std::string& schema_string);

}  // namespace binlake::lake
