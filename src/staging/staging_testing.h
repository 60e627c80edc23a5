// Test-only entry to the local staging store: fault injection for the crash-recovery tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "staging/staging.h"

namespace binlake::staging {

struct StagingTestHooks {
  // Flush fails ("simulated crash") after this many of its durable steps, -1: never. Steps in
  // order: the intent, then per file its manifest and its CSV, then the checkpoint, then the
  // intent's removal.
  int crash_after_flush_steps = -1;
  // The full load's time (manifests, timestamp column), microseconds since the epoch; 0: now.
  uint64_t load_time_us = 0;
};

// As Staging::Open(store, csv, flush, spool_dir), with the hooks.
Result<std::unique_ptr<Staging>> OpenStagingForTest(std::unique_ptr<store::ObjectStore> store,
                                                    const std::string& spool_dir,
                                                    const CsvOptions& csv, const FlushPolicy& flush,
                                                    const StagingTestHooks& hooks);

}  // namespace binlake::staging
