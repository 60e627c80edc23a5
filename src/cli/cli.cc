#include "cli/cli.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/commands.h"
#include "util/log.h"

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
  status --config FILE    per-table state: full load, I/U/D, last staged and applied file,
                          files pending (docs/operations.md)
  version                 print the version
  help [COMMAND]          this text, or a command's help

Run `binlake COMMAND --help` for a command's options. Configuration keys: docs/config.md.
--log-format json (before or after the command) writes log lines as JSON objects.
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
    {"status", StatusCommand},
};

}  // namespace

int Fail(const std::string& message) {
  log::Error(message);
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
  log::Warn(std::string(ctx.file) + ":" + std::to_string(ctx.offset) +
            ": statement-based DML in `" + std::string(schema) +
            "` is not captured (set binlog_format=ROW on the source): " +
            std::string(query.substr(0, 200)));
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
  // --log-format text|json anywhere on the line applies to every command.
  Args all(argv + 1, argv + argc);
  Args rest;
  for (size_t i = 0; i < all.size(); i++) {
    if (all[i] == "--log-format" || all[i].starts_with("--log-format=")) {
      std::string v = all[i].size() > 12 ? all[i].substr(13) : (i + 1 < all.size() ? all[++i] : "");
      log::Format f;
      if (!log::ParseFormat(v, &f))
        return Fail("--log-format '" + v + "' is not one of text, json");
      log::SetFormat(f);
    } else {
      rest.push_back(all[i]);
    }
  }
  if (rest.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string cmd = rest[0];
  Args args(rest.begin() + 1, rest.end());
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
