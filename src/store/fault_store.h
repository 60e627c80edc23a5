// A test hook: an ObjectStore wrapper that fails operations at random (seeded), before doing them
// or after (a lost answer), so pipeline tests can prove they survive a flaky store. OpenStore
// wraps every store in it when BINLAKE_STORE_FAULTS="rate=0.05,seed=7" is set (docs/s3.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "store/store.h"

namespace binlake::store {

struct FaultOptions {
  double rate = 0;    // probability that one operation fails, 0..1
  uint64_t seed = 1;  // the same seed and call sequence give the same faults
  // Of the failures, the share that happen after the operation was done (its answer is lost):
  // a Put that fails this way has written the object.
  double after_share = 0.5;
};

// "rate=0.05,seed=7[,after=0.5]"; InvalidArgument on anything else.
Result<FaultOptions> ParseFaultSpec(std::string_view spec);

// Faults are StatusCode::kUnavailable with "injected fault" in the message. uri(),
// SupportsCreateIfAbsent() and LocalPath() never fail; Read/Write/Close of readers and writers can.
std::unique_ptr<ObjectStore> WrapWithFaults(std::unique_ptr<ObjectStore> inner,
                                            const FaultOptions& options);

}  // namespace binlake::store
