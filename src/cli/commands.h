// One function per `binlake` command; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace binlake::cli {

using Args = std::vector<std::string>;

int BinlogDumpCommand(const Args& args);
int TailCommand(const Args& args);

// Prints "binlake: <message>" on stderr and returns 1: the one way commands report failure.
int Fail(const std::string& message);
// True when args contain --help or -h.
bool WantsHelp(const Args& args);

}  // namespace binlake::cli
