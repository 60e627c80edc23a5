#include "cli/cli.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"

namespace binlake::cli {
namespace {

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage =
    R"(binlake: change data capture from MySQL/MariaDB binlogs into a data lake

usage: binlake <command> [options]

commands:
  binlog-dump FILE...     decode binlog files offline, one JSON object per row change
  tail --config FILE      follow a live server's binlog, one JSON object per row change
  version                 print the version
  help [COMMAND]          this text, or a command's help

Run `binlake COMMAND --help` for a command's options. Configuration keys: docs/config.md.
)";

struct Command {
  const char* name;
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"binlog-dump", BinlogDumpCommand},
    {"tail", TailCommand},
};

}  // namespace

int Fail(const std::string& message) {
  std::fprintf(stderr, "binlake: %s\n", message.c_str());
  return 1;
}

bool WantsHelp(const Args& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  Args args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    if (cmd == "help" && !args.empty()) {
      for (const auto& c : kCommands) {
        if (args[0] == c.name) return c.run({"--help"});
      }
    }
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("binlake %s\n", kVersion);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (cmd == c.name) return c.run(args);
  }
  return Fail("unknown command '" + cmd + "' (run `binlake --help` for the list)");
}

}  // namespace binlake::cli
