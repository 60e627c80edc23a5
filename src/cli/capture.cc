// `binlake capture` (the DMS task) and `binlake check` (its preflight alone).
#include "source/capture.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "source/source.h"
#include "util/log.h"

namespace binlake::cli {
namespace {

constexpr const char* kCaptureHelp = R"(usage: binlake capture --config FILE [options]

The DMS task: checks the source (as `binlake check`), takes a consistent full load of each
selected table into <staging>/<schema>/<table>/LOAD*.csv, then follows the binlog from exactly the
snapshot position and writes every change to DMS-compatible CSV change files (docs/staging.md).
SIGINT/SIGTERM finish the current transaction and flush, checkpoint, and exit 0; the next run
resumes from the checkpoint and writes the same files with the same bytes.

options:
  --config FILE             the TOML config ([source] and [capture], docs/config.md)
  --migration-type TYPE     full-load | cdc | full-load-and-cdc (default: the config's)
  --from FILE:POS           cdc without a checkpoint: start here (default: now)
  --gtid GTID               cdc without a checkpoint: start after this MariaDB GTID state
  --from-binlog-files DIR   replay the binlog files of DIR (e.g. a backup) into staging, then exit
  --staging URI             the staging store: a folder, file:///folder or s3://bucket/prefix
                            (default: the config's capture.staging; S3 access from [s3])
  --skip-preflight          do not run the checks first
  --resnapshot              if the binlog the checkpoint needs was purged, take a new full load of
                            every captured table and continue from it (as [capture] when_purged =
                            "resnapshot"); without a purge it changes nothing
)";

constexpr const char* kCheckHelp = R"(usage: binlake check --config FILE

Preflight of the source for capture (the seed's "parameter group" step): log_bin, binlog_format=ROW,
binlog_row_image=FULL, binlog_row_metadata=FULL, binlog retention, the replication privileges, and
the selected tables and their primary keys, and that the staging store ([capture] staging, [s3])
can be read. One line per problem with the exact fix; exit 1 when there is an error (warnings alone
exit 0).
)";

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

struct Common {
  config::Config cfg;
  source::TableFilter filter;
};

Result<Common> LoadCommon(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("--config FILE is required (docs/config.md)");
  BL_ASSIGN_OR_RETURN(auto cfg, config::LoadConfig(path));
  Common c{std::move(cfg), {}};
  c.filter.include = c.cfg.capture.include;
  c.filter.exclude = c.cfg.capture.exclude;
  return c;
}

// The staging store, opened as the capture opens it, with its checkpoint read (or absent).
Status StagingReadable(const std::string& uri, const store::StoreOptions& options) {
  BL_ASSIGN_OR_RETURN(auto store, staging::OpenStagingStore(uri, options));
  auto cp = store->Stat("_binlake/checkpoint.json");
  if (!cp.ok() && cp.status().code() != StatusCode::kNotFound) return cp.status();
  return Status::Ok();
}

}  // namespace

source::CaptureLog MakeCaptureLog(bool* transient_shown) {
  return [transient_shown](const std::string& line, bool transient) {
    if (transient) {
      // Plain logs (not a terminal, or JSON lines) get the per-table summary line instead.
      if (!log::ProgressShown()) return;
      log::Progress(line);
      *transient_shown = true;
      return;
    }
    *transient_shown = false;
    // The preflight's problems carry their level as a prefix ("error: ", "warning: "), which a
    // JSON line turns into its level; the text keeps the prefix as it was.
    const bool json = log::GetFormat() == log::Format::kJson;
    if (json && line.starts_with("error: ")) {
      log::Error(line.substr(7));
    } else if (json && line.starts_with("warning: ")) {
      log::Warn(line.substr(9));
    } else {
      log::Info(line);
    }
  };
}

staging::CsvOptions CsvFromConfig(const config::CaptureConfig& cc) {
  staging::CsvOptions csv;
  csv.delimiter = cc.delimiter[0];
  csv.null_value = cc.null_value;
  csv.header = cc.header;
  csv.include_op_for_full_load = cc.include_op_for_full_load;
  csv.timestamp_column = cc.timestamp_column;
  csv.cdc_mode = cc.cdc_mode == "inserts-only" ? staging::CsvOptions::CdcMode::kInsertsOnly
                 : cc.cdc_mode == "inserts-and-updates"
                     ? staging::CsvOptions::CdcMode::kInsertsAndUpdates
                     : staging::CsvOptions::CdcMode::kAll;
  csv.max_file_bytes = cc.max_file_size_mb << 20;
  return csv;
}

Result<source::CaptureOptions> CaptureOptionsFromConfig(const config::Config& cfg) {
  const config::CaptureConfig& cc = cfg.capture;
  source::CaptureOptions o;
  o.connection = ConnectionFromConfig(cfg.source);
  o.max_reconnect_attempts = cfg.source.max_reconnect_attempts == 0
                                 ? -1
                                 : static_cast<int>(cfg.source.max_reconnect_attempts);
  BL_ASSIGN_OR_RETURN(o.migration, source::ParseMigrationType(cc.migration_type));
  o.filter.include = cc.include;
  o.filter.exclude = cc.exclude;
  o.staging_root = cc.staging;
  o.store = cfg.store;
  o.spool_dir = cc.spool_dir;
  o.csv = CsvFromConfig(cc);
  o.flush.interval_ms = cc.flush_interval_ms;
  o.flush.min_bytes = cc.flush_min_file_size_mb << 20;
  o.preflight.min_retention_hours = cc.min_retention_hours;
  o.preflight.need_snapshot = o.migration != source::MigrationType::kCdc;
  o.cdc_start.file = cfg.start.binlog_file;
  o.cdc_start.pos = cfg.start.binlog_pos;
  o.cdc_start.gtid = cfg.start.gtid;
  o.resnapshot = cc.when_purged == "resnapshot";
  return o;
}

int CheckCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kCheckHelp, stdout);
    return 0;
  }
  auto config_arg = ConfigOnlyArgs("check", args);
  if (!config_arg.ok()) return Fail(config_arg.status().message());
  const std::string& config_path = *config_arg;
  auto common = LoadCommon(config_path);
  if (!common.ok()) return Fail("check: " + common.status().message());
  source::PreflightOptions popts;
  popts.min_retention_hours = common->cfg.capture.min_retention_hours;
  popts.need_snapshot = common->cfg.capture.migration_type != "cdc";
  auto report =
      source::RunPreflight(ConnectionFromConfig(common->cfg.source), common->filter, popts);
  if (!report.ok()) return Fail("check: " + report.status().message());
  int errors = 0;
  for (const auto& p : report->problems) {
    std::printf("%s: %s. Fix: %s\n", p.error ? "error" : "warning", p.what.c_str(), p.fix.c_str());
    errors += p.error;
  }
  const int warnings = static_cast<int>(report->problems.size()) - errors;
  const std::string& staging = common->cfg.capture.staging;
  Status reach = StagingReadable(staging, common->cfg.store);
  if (!reach.ok()) {
    std::printf(
        "error: staging store %s cannot be read: %s. Fix: check [capture] staging and "
        "[s3] (endpoint, region, profile) and the credentials (docs/config.md)\n",
        staging.c_str(), reach.message().c_str());
    ++errors;
  }
  std::printf("%s %s: %zu tables selected, %d errors, %d warnings\n",
              report->is_mariadb ? "MariaDB" : "MySQL", report->server_version.c_str(),
              report->tables.size(), errors, warnings);
  return errors ? 1 : 0;
}

int CaptureCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kCaptureHelp, stdout);
    return 0;
  }
  std::string config_path, migration, from, gtid, binlog_dir, staging_dir;
  bool skip_preflight = false, resnapshot = false;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--config") {
      ok = value(&config_path);
    } else if (a == "--migration-type") {
      ok = value(&migration);
    } else if (a == "--from") {
      ok = value(&from);
    } else if (a == "--gtid") {
      ok = value(&gtid);
    } else if (a == "--from-binlog-files") {
      ok = value(&binlog_dir);
    } else if (a == "--staging") {
      ok = value(&staging_dir);
    } else if (a == "--skip-preflight") {
      skip_preflight = true;
    } else if (a == "--resnapshot") {
      resnapshot = true;
    } else {
      return Fail("capture: unknown option " + a + " (see binlake capture --help)");
    }
    if (!ok) return Fail("capture: " + a + " needs a value (see binlake capture --help)");
  }
  auto common = LoadCommon(config_path);
  if (!common.ok()) return Fail("capture: " + common.status().message());

  auto built = CaptureOptionsFromConfig(common->cfg);
  if (!built.ok()) return Fail("capture: " + built.status().message());
  source::CaptureOptions o = std::move(built).value();
  if (!migration.empty()) {
    auto mt = source::ParseMigrationType(migration);
    if (!mt.ok()) return Fail("capture: " + mt.status().message());
    o.migration = *mt;
    o.preflight.need_snapshot = o.migration != source::MigrationType::kCdc;
  }
  if (!staging_dir.empty()) o.staging_root = staging_dir;
  o.skip_preflight = skip_preflight;
  if (resnapshot) o.resnapshot = true;
  o.binlog_dir = binlog_dir;
  if (!from.empty()) {
    size_t colon = from.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Fail("capture: --from wants FILE:POS, e.g. binlog.000003:4");
    }
    o.cdc_start.file = from.substr(0, colon);
    o.cdc_start.pos = std::strtoull(from.c_str() + colon + 1, nullptr, 10);
    o.cdc_start.gtid.clear();
  }
  if (!gtid.empty()) o.cdc_start.gtid = gtid;

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  bool transient_shown = false;
  source::CaptureLog log = MakeCaptureLog(&transient_shown);
  source::CaptureStats stats;
  Status st = source::RunCapture(o, &g_stop, log, &stats);
  if (transient_shown) log::EndProgress();
  if (!st.ok()) return Fail("capture: " + st.message());
  log::Info("capture stopped cleanly: full load " + std::to_string(stats.full_load_rows) +
            " rows; changes: " + std::to_string(stats.inserts) + " inserts, " +
            std::to_string(stats.updates) + " updates, " + std::to_string(stats.deletes) +
            " deletes in " + std::to_string(stats.transactions) + " transactions; staging " +
            o.staging_root);
  return 0;
}

}  // namespace binlake::cli
