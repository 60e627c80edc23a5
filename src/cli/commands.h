// One function per `binlake` command; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "binlog/client.h"
#include "config/config.h"

namespace binlake::cli {

using Args = std::vector<std::string>;

int BinlogDumpCommand(const Args& args);
int TailCommand(const Args& args);
int CaptureCommand(const Args& args);
int CheckCommand(const Args& args);
int ApplyCommand(const Args& args);

// The replication connection a config's [source] describes.
binlog::ConnectionOptions ConnectionFromConfig(const config::SourceConfig& source);

// Prints "binlake: <message>" on stderr and returns 1: the one way commands report failure.
int Fail(const std::string& message);
// True when args contain --help or -h.
bool WantsHelp(const Args& args);

}  // namespace binlake::cli
