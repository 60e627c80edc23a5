// binlake: the command-line entry point; each command lives in its own file under src/cli/.
#include <cstdlib>

#include "cli/cli.h"

int main(int argc, char** argv) {
  // Arrow's jemalloc (the apply's Arrow data) gives freed pages back after 100 ms, not its 1 s
  // default: a merge frees and allocates batch after batch, and pages it keeps count against
  // [lake] memory_mb (docs/lake.md "Large transactions"). Read when jemalloc starts, so before
  // any Arrow allocation; a value in the environment wins.
  setenv("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0", 0);
  return binlake::cli::Main(argc, argv);
}
