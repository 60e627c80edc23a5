// `binlake apply`: merges staged CSV files into the lake's Delta tables (the "Glue job").
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "lake/lake.h"

namespace binlake::cli {
namespace {

constexpr const char* kApplyHelp =
    R"(usage: binlake apply [--lake DIR] [--staging DIR] [--buckets N] [--threads N] FILE...

Applies staging CSV files (<staging>/<schema>/<table>/NAME.csv) to Delta Lake tables under
<lake>/<schema>/<table>/ (docs/lake.md). LOAD files rebuild their table from all its LOAD files;
change files are merged in sequence order, each exactly once (a file already applied is a no-op).
Only the buckets whose keys changed are rewritten.

options:
  --lake DIR       the lake root (default: .binlake/lake)
  --staging DIR    the staging root (default: three folders above each FILE)
  --buckets N      buckets of a new table (default: at most 512Ki rows of the full load per
                   bucket, a power of two >= 16; an existing table keeps its count)
  --threads N      buckets rewritten in parallel, LOAD files parsed by (default: one per core)
  --no-pk-reject   refuse tables without a primary key (default: whole-row identity)
)";

}  // namespace

int ApplyCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kApplyHelp, stdout);
    return 0;
  }
  lake::ApplyOptions opts;
  opts.lake = ".binlake/lake";
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--lake" && i + 1 < args.size()) {
      opts.lake = args[++i];
    } else if (args[i] == "--staging" && i + 1 < args.size()) {
      opts.staging = args[++i];
    } else if (args[i] == "--buckets" && i + 1 < args.size()) {
      opts.buckets = std::atoi(args[++i].c_str());
      if (opts.buckets < 1) return Fail("apply: --buckets needs a positive number");
    } else if (args[i] == "--threads" && i + 1 < args.size()) {
      opts.threads = std::atoi(args[++i].c_str());
      if (opts.threads < 1) return Fail("apply: --threads needs a positive number");
    } else if (args[i] == "--no-pk-reject") {
      opts.reject_without_primary_key = true;
    } else if (!args[i].empty() && args[i][0] == '-') {
      return Fail("apply: unknown option " + args[i] + " (see binlake apply --help)");
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.empty()) return Fail("apply: no staging FILE given (see binlake apply --help)");
  auto stats = lake::ApplyFiles(opts, files);
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
