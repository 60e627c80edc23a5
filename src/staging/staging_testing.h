// Test-only entry to the local staging store: fault injection for the crash-recovery tests.
#pragma once

#include <memory>
#include <string>

#include "staging/staging.h"

namespace binlake::staging {

struct StagingTestHooks {
  // Flush fails ("simulated crash") after this many of its durable steps, -1: never. Steps in
  // order: the intent, then per file its manifest and its CSV, then the checkpoint, then the
  // intent's removal.
  int crash_after_flush_steps = -1;
};

Result<std::unique_ptr<Staging>> OpenStagingForTest(const std::string& root, const CsvOptions& csv,
                                                    const FlushPolicy& flush,
                                                    const StagingTestHooks& hooks);

}  // namespace binlake::staging
