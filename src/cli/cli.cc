#include "cli/cli.h"

#include <cstdio>

namespace binlake::cli {

int Main(int, char**) {
  std::puts("binlake");
  return 0;
}

}  // namespace binlake::cli
