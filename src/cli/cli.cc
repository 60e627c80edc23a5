#include "cli/cli.h"

#include <algorithm>
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
  check --config FILE     preflight: is the source ready for capture? one line per problem
  run --config FILE       the whole pipeline in one process: capture + trigger + apply
  capture --config FILE   full load + change capture into DMS-compatible staging CSV files
  trigger --config FILE   watch the staging folder and apply each new file once, in order
  binlog-dump FILE...     decode binlog files offline, one JSON object per row change
  tail --config FILE      follow a live server's binlog, one JSON object per row change
  apply FILE...           merge staging CSV files into Delta Lake tables (docs/lake.md)
  verify --config FILE    compare each source table with its lake table (docs/verify.md)
  version                 print the version
  help [COMMAND]          this text, or a command's help

Run `binlake COMMAND --help` for a command's options. Configuration keys: docs/config.md.
)";

struct Command {
  const char* name;
  int (*run)(const Args&);
};

constexpr Command kCommands[] = {
    {"check", CheckCommand},
    {"run", RunCommand},
    {"trigger", TriggerCommand},
    {"capture", CaptureCommand},
    {"binlog-dump", BinlogDumpCommand},
    {"tail", TailCommand},
    {"apply", ApplyCommand},
    {"verify", VerifyCommand},
};

}  // namespace

int Fail(const std::string& message) {
  std::fprintf(stderr, "binlake: %s\n", message.c_str());
  return 1;
}

binlog::ConnectionOptions ConnectionFromConfig(const config::SourceConfig& src) {
  binlog::ConnectionOptions conn;
  conn.host = src.host;
  conn.port = src.port;
  conn.user = src.user;
  conn.password = src.password;
  conn.tls = src.tls.enabled;
  conn.tls_ca = src.tls.ca;
  conn.tls_cert = src.tls.cert;
  conn.tls_key = src.tls.key;
  conn.tls_verify_server_cert = src.tls.verify_server_cert;
  conn.server_id = src.server_id;
  conn.heartbeat_period_ms = src.heartbeat_ms;
  conn.connect_timeout_s = src.connect_timeout_s;
  conn.read_timeout_s = src.read_timeout_s;
  return conn;
}

void ReportStatementDml(const binlog::EventContext& ctx, std::string_view schema,
                        std::string_view query) {
  std::fprintf(stderr,
               "binlake: %.*s:%llu: statement-based DML in `%.*s` is not captured (set "
               "binlog_format=ROW on the source): %.*s\n",
               static_cast<int>(ctx.file.size()), ctx.file.data(),
               static_cast<unsigned long long>(ctx.offset), static_cast<int>(schema.size()),
               schema.data(), static_cast<int>(std::min<size_t>(query.size(), 200)), query.data());
}

Result<std::string> ConfigOnlyArgs(const std::string& command, const Args& args) {
  std::string path;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[++i];
    } else {
      return Status::InvalidArgument(command + ": unknown option " + args[i] + " (see binlake " +
                                     command + " --help)");
    }
  }
  return path;
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
