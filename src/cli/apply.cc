// `binlake apply`: merges staged CSV files into the lake's tables (the "Glue job").
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "lake/lake.h"
#include "util/log.h"

namespace binlake::cli {
namespace {

constexpr const char* kApplyHelp =
    R"(usage: binlake apply [--config FILE] [--lake DIR] [--staging DIR] [--buckets N] [--threads N]
                      [--format F] FILE...

Applies staging CSV files (<staging>/<schema>/<table>/NAME.csv) to the lake's tables under
<lake>/<schema>/<table>/: Delta Lake tables, or plain CSV files with [lake] format = "csv"
(docs/lake.md). LOAD files rebuild their table from all its LOAD files; change files are merged in
sequence order, each exactly once (a file already applied is a no-op). Only the buckets whose keys
changed are rewritten.

options:
  --config FILE    take [lake], [capture] staging and [capture.csv] from the config, as `binlake run`
                   does (the options below override it)
  --lake DIR       the lake root (default: .binlake/lake, or [lake] path)
  --staging DIR    the staging root (default: three folders above each FILE, or [capture] staging)
  --buckets N      buckets of a new table (default: at most 512Ki rows of the full load per
                   bucket, a power of two >= 16; an existing table keeps its count)
  --threads N      buckets rewritten in parallel, LOAD files parsed by (default: one per core)
  --format F       delta (default) or csv
  --no-pk-reject   refuse tables without a primary key (default: whole-row identity)
)";

// A local lake folder as an absolute path (the stores want one; `.binlake/lake` is relative to the
// working directory, as the staging folder is); URIs as they are.
std::string AbsoluteLake(const std::string& lake) {
  if (lake.empty() || lake.find("://") != std::string::npos || lake.starts_with("/")) return lake;
  std::error_code ec;
  auto abs = std::filesystem::absolute(lake, ec);
  return ec ? lake : abs.lexically_normal().string();
}

}  // namespace

lake::ApplyOptions ApplyOptionsFromConfig(const config::Config& cfg) {
  lake::ApplyOptions a;
  a.lake = AbsoluteLake(cfg.lake.path);
  a.staging = cfg.capture.staging;
  a.stores = cfg.store;
  a.buckets = static_cast<int>(cfg.lake.buckets);
  a.csv = CsvFromConfig(cfg.capture);
  a.reject_without_primary_key = cfg.lake.no_primary_key == "reject";
  a.keep_dropped_columns = cfg.lake.dropped_columns == "keep";
  a.format = cfg.lake.format == "csv" ? lake::LakeFormat::kCsv : lake::LakeFormat::kDelta;
  a.checkpoints.interval = static_cast<int>(cfg.lake.checkpoint_interval);
  a.checkpoints.log_retention_versions = static_cast<int>(cfg.lake.log_retention_versions);
  a.memory_budget = static_cast<int64_t>(cfg.lake.memory_mb) << 20;
  a.spill_dir = cfg.lake.spill_dir;
  a.progress = ApplyProgress();
  return a;
}

std::function<void(const std::string&)> ApplyProgress() {
  if (!log::ProgressShown()) return nullptr;
  return [](const std::string& line) { log::Progress(line); };
}

int ApplyCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kApplyHelp, stdout);
    return 0;
  }
  std::string config_path;
  std::optional<std::string> lake, staging, format;
  std::optional<int> buckets, threads;
  bool no_pk_reject = false;
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--lake" && i + 1 < args.size()) {
      lake = args[++i];
    } else if (args[i] == "--staging" && i + 1 < args.size()) {
      staging = args[++i];
    } else if (args[i] == "--buckets" && i + 1 < args.size()) {
      buckets = std::atoi(args[++i].c_str());
      if (*buckets < 1) return Fail("apply: --buckets needs a positive number");
    } else if (args[i] == "--format" && i + 1 < args.size()) {
      format = args[++i];
      if (*format != "delta" && *format != "csv") return Fail("apply: --format is delta or csv");
    } else if (args[i] == "--threads" && i + 1 < args.size()) {
      threads = std::atoi(args[++i].c_str());
      if (*threads < 1) return Fail("apply: --threads needs a positive number");
    } else if (args[i] == "--no-pk-reject") {
      no_pk_reject = true;
    } else if (!args[i].empty() && args[i][0] == '-') {
      return Fail("apply: unknown option " + args[i] + " (see binlake apply --help)");
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return Fail("apply: no staging FILE given (see binlake apply --help)");
  lake::ApplyOptions opts;
  opts.lake = ".binlake/lake";
  if (!config_path.empty()) {
    auto cfg = config::LoadConfig(config_path);
    if (!cfg.ok()) return Fail("apply: " + cfg.status().message());
    opts = ApplyOptionsFromConfig(*cfg);
  }
  if (lake) opts.lake = *lake;
  opts.lake = AbsoluteLake(opts.lake);
  if (staging) opts.staging = *staging;
  if (buckets) opts.buckets = *buckets;
  if (threads) opts.threads = *threads;
  if (format) opts.format = *format == "csv" ? lake::LakeFormat::kCsv : lake::LakeFormat::kDelta;
  if (no_pk_reject) opts.reject_without_primary_key = true;
  opts.progress = ApplyProgress();
  auto stats = lake::ApplyFiles(opts, files);
  log::EndProgress();
  if (!stats.ok()) return Fail("apply: " + stats.status().message());
  std::printf(
      "commits=%d skipped=%d files_added=%d files_removed=%d rows_written=%llu "
      "bytes_written=%llu\n",
      stats->commits, stats->skipped, stats->files_added, stats->files_removed,
      static_cast<unsigned long long>(stats->rows_written),
      static_cast<unsigned long long>(stats->bytes_written));
  return 0;
}

}  // namespace binlake::cli
