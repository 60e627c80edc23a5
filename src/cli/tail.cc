// `binlake tail --config FILE`: follows a live server's binlog and prints row changes as JSON.
#include <cstdio>

#include "cli/commands.h"

namespace binlake::cli {

int TailCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::puts("usage: binlake tail --config FILE");
    return 0;
  }
  return Fail("tail: not wired yet");
}

}  // namespace binlake::cli
