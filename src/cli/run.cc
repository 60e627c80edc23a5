// `binlake trigger` (the Lambda) and `binlake run` (capture + trigger + apply in one process).
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "ops/ops.h"
#include "trigger/trigger.h"
#include "util/log.h"

namespace binlake::cli {
namespace {

constexpr const char* kTriggerHelp = R"(usage: binlake trigger --config FILE [options]

The seed's S3 trigger + Lambda: watches the staging folder (inotify, with a listing every
lake.trigger_poll_ms as a safety net) and applies each new file exactly once, in name order per
table, tables in parallel, into the tables under [lake] path (Delta, or CSV with format = "csv").
Its state survives restarts (the Delta log, or the CSV table's state file, records each applied
file's sequence). SIGINT/SIGTERM stop it after the current file.

options:
  --config FILE   the TOML config ([capture] staging and csv, [lake], docs/config.md)
  --exec CMD      instead of the built-in apply, run `CMD <staging root> <schema>/<table>/<file>`
                  per file, as the seed's Lambda starts the Glue job with the bucket and key
  --runner R      who applies the files: builtin (this process, the default) or spark (the
                  PySpark job jobs/spark/binlake_apply.py started with [spark] submit for
                  each scan's new files, as the seed's Lambda starts the Glue job;
                  docs/spark.md); [lake] runner sets the default
  --once          apply what is there now, then exit
)";

#ifndef BINLAKE_SPARK_JOB
#define BINLAKE_SPARK_JOB "jobs/spark/binlake_apply.py"
#endif
// delta-spark's Maven coordinates for the pip packages install-deps.sh installs (pyspark 4.2).
constexpr const char* kDefaultSparkSubmit =
    "spark-submit --packages io.delta:delta-spark_4.2_2.13:4.4.0";

constexpr const char* kRunHelp = R"(usage: binlake run --config FILE [--resnapshot]

The whole pipeline in one process: the capture (as `binlake capture`) and the trigger with the
built-in apply (as `binlake trigger`), so a change committed in the source shows in the lake table
within about a second. SIGINT/SIGTERM stop both cleanly ("stop instances"); the next start resumes
from the checkpoints. With [ops] enabled = true it serves /metrics (Prometheus), /api/status
(JSON) and a dashboard page on [ops] listen (docs/operations.md).

  --resnapshot   if the binlog the checkpoint needs was purged, take a new full load of every
                 captured table and continue from it (as [capture] when_purged = "resnapshot")
)";

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

trigger::TriggerOptions TriggerFromConfig(const config::Config& cfg) {
  trigger::TriggerOptions t;
  t.staging = cfg.capture.staging;
  t.apply = ApplyOptionsFromConfig(cfg);
  t.poll_ms = cfg.lake.trigger_poll_ms;
  t.parallelism = static_cast<int>(cfg.lake.trigger_parallelism);
  t.apply.concurrent_applies = std::max(1, t.parallelism);
  t.notify_listen = cfg.lake.notify_listen;
  t.notify_token = cfg.lake.notify_token;
  t.spark.enabled = cfg.lake.runner == "spark";
  t.spark.submit = cfg.spark.submit.empty() ? kDefaultSparkSubmit : cfg.spark.submit;
  t.spark.job = cfg.spark.job.empty() ? BINLAKE_SPARK_JOB : cfg.spark.job;
  t.spark.args = cfg.spark.args;
  t.spark.staging = cfg.spark.staging;
  t.spark.lake = cfg.spark.lake;
  t.spark.max_files = cfg.spark.max_files;
  return t;
}

void TriggerLogLine(const std::string& line) { log::Info(line); }

}  // namespace

int TriggerCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kTriggerHelp, stdout);
    return 0;
  }
  std::string config_path, exec, runner;
  bool once = false;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (args[i] == "--exec" && i + 1 < args.size()) {
      exec = args[++i];
    } else if (args[i] == "--runner" && i + 1 < args.size()) {
      runner = args[++i];
      if (runner != "builtin" && runner != "spark") {
        return Fail("trigger: --runner " + runner + " is not one of builtin, spark");
      }
    } else if (args[i] == "--once") {
      once = true;
    } else {
      return Fail("trigger: unknown option " + args[i] + " (see binlake trigger --help)");
    }
  }
  if (config_path.empty()) return Fail("trigger: --config FILE is required (docs/config.md)");
  auto cfg = config::LoadConfig(config_path);
  if (!cfg.ok()) return Fail("trigger: " + cfg.status().message());
  trigger::TriggerOptions t = TriggerFromConfig(*cfg);
  t.exec = exec;
  if (!runner.empty()) t.spark.enabled = runner == "spark";
  if (t.spark.enabled && !exec.empty()) {
    return Fail("trigger: --exec and the spark runner exclude each other; choose one");
  }
  if (t.spark.enabled && cfg->lake.format != "delta") {
    return Fail("trigger: the spark runner writes Delta tables; set [lake] format = \"delta\"");
  }
  t.once = once;
  t.apply.warn = TriggerLogLine;
  t.apply.info = TriggerLogLine;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  trigger::TriggerStats stats;
  Status st = trigger::RunTrigger(t, &g_stop, TriggerLogLine, &stats);
  if (!st.ok()) return Fail("trigger: " + st.message());
  log::Info("trigger stopped: " + std::to_string(stats.files.load()) + " files, " +
            std::to_string(stats.commits.load()) + " lake commits");
  return 0;
}

int RunCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kRunHelp, stdout);
    return 0;
  }
  Args rest;
  bool resnapshot = false;
  for (const auto& a : args) {
    if (a == "--resnapshot") {
      resnapshot = true;
    } else {
      rest.push_back(a);
    }
  }
  auto config_arg = ConfigOnlyArgs("run", rest);
  if (!config_arg.ok()) return Fail(config_arg.status().message());
  const std::string& config_path = *config_arg;
  if (config_path.empty()) return Fail("run: --config FILE is required (docs/config.md)");
  auto cfg = config::LoadConfig(config_path);
  if (!cfg.ok()) return Fail("run: " + cfg.status().message());
  auto capture = CaptureOptionsFromConfig(*cfg);
  if (!capture.ok()) return Fail("run: " + capture.status().message());
  if (resnapshot) capture->resnapshot = true;
  trigger::TriggerOptions t = TriggerFromConfig(*cfg);
  // The lake follows quickly: without bucket notifications the listing runs at most every
  // 250 ms; with them it is only the safety net, every trigger_poll_ms.
  if (t.notify_listen.empty()) t.poll_ms = std::min<uint32_t>(t.poll_ms, 250);
  t.apply.warn = TriggerLogLine;
  t.apply.info = TriggerLogLine;
  // The status server ([ops]): metrics, /api/status and the dashboard while the pipeline runs.
  std::unique_ptr<ops::Metrics> metrics;
  std::unique_ptr<ops::Server> server;
  if (cfg->ops.enabled) {
    metrics = std::make_unique<ops::Metrics>();
    auto started = ops::Server::Start(cfg->ops.listen, metrics.get());
    if (!started.ok()) return Fail("run: " + started.status().message());
    server = std::move(*started);
    capture->metrics = metrics.get();
    t.metrics = metrics.get();
    const std::string host = cfg->ops.listen.substr(0, cfg->ops.listen.rfind(':'));
    log::Info("status on http://" + host + ":" + std::to_string(server->port()) +
              "/ (metrics at /metrics, JSON at /api/status)");
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  std::atomic<bool> trigger_stop{false};
  trigger::TriggerStats tstats;
  Status trigger_status;
  std::thread trigger_thread([&] {
    // The capture creates the staging folder; wait for it.
    while (!trigger_stop.load()) {
      trigger_status = trigger::RunTrigger(t, &trigger_stop, TriggerLogLine, &tstats);
      if (trigger_status.ok() || trigger_status.code() != StatusCode::kNotFound) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  bool transient_shown = false;
  source::CaptureStats cstats;
  Status st;
  // A store that fails after its own retries (kUnavailable) restarts the capture from its
  // checkpoint with a growing pause; nothing committed is lost or written twice.
  for (int failures = 0;;) {
    st = source::RunCapture(*capture, &g_stop, MakeCaptureLog(&transient_shown), &cstats);
    if (st.ok() || st.code() != StatusCode::kUnavailable || g_stop.load()) break;
    const int64_t wait_ms = std::min<int64_t>(int64_t{500} << std::min(++failures, 6), 30000);
    TriggerLogLine("capture: " + st.message() + "; restarting from the checkpoint in " +
                   std::to_string(wait_ms) + " ms");
    if (metrics) metrics->Error("", "capture: " + st.message(), false);
    for (int64_t w = 0; w < wait_ms && !g_stop.load(); w += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Whatever the capture flushed last is applied before the trigger stops.
  trigger::TriggerOptions last = t;
  trigger_stop.store(true);
  trigger_thread.join();
  if (st.ok()) {
    last.once = true;
    // A stop does not wait out a store outage: what is left is applied by the next start.
    last.once_retry_limit_ms = 45000;
    trigger::TriggerStats final_stats;
    Status fin = trigger::RunTrigger(last, nullptr, TriggerLogLine, &final_stats);
    tstats.commits += final_stats.commits.load();
    if (!fin.ok() && trigger_status.ok()) trigger_status = fin;
  }
  if (!st.ok()) return Fail("run: capture: " + st.message());
  if (!trigger_status.ok()) return Fail("run: trigger: " + trigger_status.message());
  if (server) server->Stop();
  log::Info("run stopped cleanly: full load " + std::to_string(cstats.full_load_rows) + " rows; " +
            std::to_string(cstats.inserts) + " inserts, " + std::to_string(cstats.updates) +
            " updates, " + std::to_string(cstats.deletes) + " deletes captured; " +
            std::to_string(tstats.commits.load()) + " lake commits; " +
            std::to_string(tstats.events.load()) + " bucket notifications");
  return 0;
}

}  // namespace binlake::cli
