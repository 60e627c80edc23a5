// `binlake verify`: each source table against its lake table; exit 0 equal, 1 different, 2 error.
#include "verify/verify.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "util/log.h"

namespace binlake::cli {
namespace {

constexpr const char* kVerifyHelp =
    R"(usage: binlake verify --config FILE [--table SCHEMA.TABLE]... [--wait-ms N] [--json]

Compares each source table that [capture] include/exclude selects with its lake table under
[lake] path: the row count, an order-independent checksum over every column (the source's values
mapped by the lake's own type mapping, compared as typed values), and where they differ the first
differing primary keys (at most 10 per table, sorted) with what differs: missing in lake, extra in
lake, or the columns whose values differ. A table on one side only is MISSING. docs/verify.md.

verify compares the source as it is now (one consistent snapshot) with the lake as it is now (the
latest Delta version of each table): run it when the pipeline has caught up, or give --wait-ms.

options:
  --config FILE          the TOML config ([source], [capture] include/exclude, [lake] path)
  --table SCHEMA.TABLE   only this table (globs * and ? allowed; repeat for more)
  --wait-ms N            while the pipeline catches up: retry until equal or N ms have passed,
                         then report the last result
  --json                 print a machine-readable report on stdout

exit status: 0 every table equal, 1 a difference, 2 an error (connection, unreadable lake, usage)
)";

// Errors exit 2: 1 means "the tables differ".
int Error(const std::string& message) {
  Fail("verify: " + message);
  return 2;
}

std::string Count(int64_t n) { return n < 0 ? "-" : std::to_string(n); }

void PrintText(const verify::VerifyReport& report) {
  size_t width = 5;
  for (const auto& t : report.tables) width = std::max(width, t.schema.size() + t.table.size() + 1);
  const int w = static_cast<int>(width);
  std::printf("%-*s  %12s  %12s  %-16s  %s\n", w, "table", "source_rows", "lake_rows", "checksum",
              "status");
  for (const auto& t : report.tables) {
    std::string sum = "-";
    if (!t.source_checksum.empty() && !t.lake_checksum.empty()) {
      sum = t.source_checksum == t.lake_checksum ? t.source_checksum.substr(0, 16) : "differs";
    }
    std::printf("%-*s  %12s  %12s  %-16s  %s\n", w, (t.schema + "." + t.table).c_str(),
                Count(t.source_rows).c_str(), Count(t.lake_rows).c_str(), sum.c_str(),
                verify::TableStatusName(t.status));
  }
  for (const auto& t : report.tables) {
    const std::string name = t.schema + "." + t.table;
    if (!t.note.empty()) std::printf("\n%s: %s\n", name.c_str(), t.note.c_str());
    if (t.status == verify::TableStatus::kMissing) {
      std::printf("\n%s: %s\n", name.c_str(),
                  t.lake_rows < 0 ? "no lake table (has the pipeline applied it yet?)"
                                  : "no source table (dropped, or not selected any more)");
    }
    if (t.status != verify::TableStatus::kDiff) continue;
    std::printf("\n%s:", name.c_str());
    for (const auto& p : t.problems) std::printf("\n  %s", p.c_str());
    if (t.differing_rows > 0) {
      std::printf("\n  %llu differing row%s in %zu of %d buckets%s\n",
                  static_cast<unsigned long long>(t.differing_rows),
                  t.differing_rows == 1 ? "" : "s", t.differing_buckets.size(), t.buckets,
                  t.diffs.size() < t.differing_rows ? " (the first ones by key):" : ":");
      size_t kw = 0;
      for (const auto& d : t.diffs) kw = std::max(kw, d.key_text.size());
      for (const auto& d : t.diffs) {
        std::printf("    %-*s  %s\n", static_cast<int>(kw), d.key_text.c_str(),
                    d.Describe().c_str());
      }
    } else if (t.problems.empty()) {
      std::printf("\n  the checksums of %zu of %d buckets differ\n", t.differing_buckets.size(),
                  t.buckets);
    } else {
      std::printf("\n");
    }
  }
  const auto differ = std::count_if(report.tables.begin(), report.tables.end(), [](const auto& t) {
    return t.status != verify::TableStatus::kOk;
  });
  std::printf("\n%s: %zu table%s, %lld differ%s (source at %s)\n", differ ? "DIFFERENT" : "EQUAL",
              report.tables.size(), report.tables.size() == 1 ? "" : "s",
              static_cast<long long>(differ), differ == 1 ? "s" : "",
              report.source_position.c_str());
}

const char* KindName(verify::RowDiff::Kind kind) {
  switch (kind) {
    case verify::RowDiff::Kind::kMissingInLake:
      return "missing_in_lake";
    case verify::RowDiff::Kind::kExtraInLake:
      return "extra_in_lake";
    case verify::RowDiff::Kind::kValuesDiffer:
      return "values_differ";
    case verify::RowDiff::Kind::kWrongBucket:
      return "wrong_bucket";
  }
  return "?";
}

void PrintJson(const verify::VerifyReport& report) {
  using json = nlohmann::ordered_json;  // keys in column order
  json tables = json::array();
  for (const auto& t : report.tables) {
    json diffs = json::array();
    for (const auto& d : t.diffs) {
      json key = json::object();
      for (const auto& [col, v] : d.key) key[col] = v ? json(*v) : json(nullptr);
      json j = {{"key", key},
                {"kind", KindName(d.kind)},
                {"what", d.Describe()},
                {"source_copies", d.source_copies},
                {"lake_copies", d.lake_copies}};
      if (d.kind == verify::RowDiff::Kind::kValuesDiffer) j["columns"] = d.columns;
      if (d.kind == verify::RowDiff::Kind::kWrongBucket) {
        j["lake_bucket"] = d.lake_bucket;
        j["source_bucket"] = d.source_bucket;
      }
      diffs.push_back(std::move(j));
    }
    auto count = [](int64_t n) { return n < 0 ? json(nullptr) : json(n); };
    auto sum = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    tables.push_back({{"table", t.schema + "." + t.table},
                      {"status", verify::TableStatusName(t.status)},
                      {"source_rows", count(t.source_rows)},
                      {"lake_rows", count(t.lake_rows)},
                      {"source_checksum", sum(t.source_checksum)},
                      {"lake_checksum", sum(t.lake_checksum)},
                      {"buckets", t.buckets},
                      {"differing_buckets", t.differing_buckets},
                      {"problems", t.problems},
                      {"differing_rows", t.differing_rows},
                      {"diffs", diffs},
                      {"note", t.note},
                      {"seconds", t.seconds}});
  }
  json out = {{"equal", report.equal()},
              {"source_position", report.source_position},
              {"attempts", report.attempts},
              {"tables", tables}};
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

int VerifyCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kVerifyHelp, stdout);
    return 0;
  }
  std::string config_path;
  verify::VerifyOptions o;
  bool json = false;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--table" && i + 1 < args.size()) {
      o.tables.push_back(args[++i]);
    } else if (args[i] == "--wait-ms" && i + 1 < args.size()) {
      char* end = nullptr;
      const std::string& v = args[++i];
      const unsigned long ms = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || ms > 86400000UL) {
        return Error("--wait-ms needs milliseconds from 0 to 86400000, not '" + v + "'");
      }
      o.wait_ms = static_cast<uint32_t>(ms);
    } else if (args[i] == "--json") {
      json = true;
    } else {
      return Error("unknown option " + args[i] + " (see binlake verify --help)");
    }
  }
  if (config_path.empty()) return Error("--config FILE is required (docs/config.md)");
  auto cfg = config::LoadConfig(config_path);
  if (!cfg.ok()) return Error(cfg.status().message());
  if (cfg->lake.format != "delta") {
    return Error(config_path + ": [lake] format = \"" + cfg->lake.format +
                 "\": verify compares Delta tables only; compare a CSV lake with DuckDB "
                 "(docs/lake.md \"The CSV lake\")");
  }
  o.connection = ConnectionFromConfig(cfg->source);
  o.filter.include = cfg->capture.include;
  o.filter.exclude = cfg->capture.exclude;
  o.lake = cfg->lake.path;
  o.stores = cfg->store;
  o.log = [](const std::string& line) { log::Info("verify: " + line); };
  auto report = verify::VerifyTables(o);
  if (!report.ok()) return Error(report.status().message());
  if (json) {
    PrintJson(*report);
  } else {
    PrintText(*report);
  }
  return report->equal() ? 0 : 1;
}

}  // namespace binlake::cli
