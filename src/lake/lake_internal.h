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
// An Arrow status as a binlake one (Internal, naming `where`), or the store's own status when it
// came from an object store stream (StoreStatusDetail), so a transient store failure stays
// kUnavailable through Arrow's writers and readers.
Status Check(const arrow::Status& s, const std::string& where);

// What the store streams attach to the Arrow statuses they return.
class StoreStatusDetail : public arrow::StatusDetail {
 public:
  explicit StoreStatusDetail(Status status) : status_(std::move(status)) {}
  const char* type_id() const override { return "binlake::store"; }
  std::string ToString() const override { return status_.message(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};
arrow::Status ToArrow(const Status& s);
std::string DeltaLogName(int64_t version);  // 00000000000000000007.json
// A streaming write: nothing is visible until Close() succeeds (ObjectStore::Create).
Result<std::shared_ptr<arrow::io::OutputStream>> CreateArrowOutput(store::ObjectStore& s,
                                                                   const std::string& key);
// The store's own failure behind a stream's Arrow error (Ok when there was none).
Status StoreStreamError(const arrow::io::OutputStream* out);
Result<std::shared_ptr<arrow::Table>> ReadParquet(store::ObjectStore& s, const std::string& key);
// The store a table URI names, or nullptr for a local folder that does not exist (reading a
// table that is not there must not create its folder).
Result<std::shared_ptr<store::ObjectStore>> OpenTableStore(const std::string& uri,
                                                           const store::StoreOptions& options);

}  // namespace binlake::lake
