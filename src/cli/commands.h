// One function per `binlake` command; each returns the process exit code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "binlog/client.h"
#include "binlog/decoder.h"
#include "config/config.h"
#include "lake/lake.h"
#include "source/capture.h"

namespace binlake::cli {

using Args = std::vector<std::string>;

int BinlogDumpCommand(const Args& args);
int TailCommand(const Args& args);
int CaptureCommand(const Args& args);
int CheckCommand(const Args& args);
int ApplyCommand(const Args& args);

int TriggerCommand(const Args& args);
int RunCommand(const Args& args);
int VerifyCommand(const Args& args);
int StatusCommand(const Args& args);

// The capture task a config's [source], [capture] and [start] describe.
Result<source::CaptureOptions> CaptureOptionsFromConfig(const config::Config& cfg);
// The staging CSV dialect of [capture.csv]: the capture writes it, the apply reads it.
staging::CsvOptions CsvFromConfig(const config::CaptureConfig& cc);
// The apply a config describes: [lake], the staging root and [capture.csv] (apply, trigger, run).
lake::ApplyOptions ApplyOptionsFromConfig(const config::Config& cfg);
// The apply's progress bars: drawn in place on a terminal (text logs), else none.
std::function<void(const std::string&)> ApplyProgress();
// Capture log lines on stderr; progress redraws in place on a terminal.
source::CaptureLog MakeCaptureLog(bool* transient_shown);

// One stderr line for statement-based DML, which row-based capture cannot see.
void ReportStatementDml(const binlog::EventContext& ctx, std::string_view schema,
                        std::string_view query);

// The replication connection a config's [source] describes.
binlog::ConnectionOptions ConnectionFromConfig(const config::SourceConfig& source);

// Prints "binlake: <message>" on stderr and returns 1: the one way commands report failure.
int Fail(const std::string& message);
// The FILE of `--config FILE` for commands that take nothing else; an error names any other arg.
Result<std::string> ConfigOnlyArgs(const std::string& command, const Args& args);
// True when args contain --help or -h.
bool WantsHelp(const Args& args);

}  // namespace binlake::cli
