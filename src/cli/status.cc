// `binlake status`: the pipeline's per-table state from what is durable (the staging checkpoint,
// the manifests and each lake table's log), whether or not a pipeline runs.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "cli/commands.h"
#include "lake/staged.h"
#include "staging/staging.h"
#include "store/store.h"

namespace binlake::cli {
namespace {

constexpr const char* kStatusHelp = R"(usage: binlake status --config FILE [--json]

The pipeline's state per table, as the DMS console shows it, read from what is durable: the
capture checkpoint and the manifests in staging ([capture] staging) and each lake table's log
([lake] path). It works whether or not `binlake run` is running (a running one also serves it live
with [ops] enabled: docs/operations.md).

For each table: its state (queued: not in the lake yet; loading: its full load is being staged;
replicating), the full-load rows, the inserts/updates/deletes staged in change files, the last
staged file, the last applied file and its sequence, and the staged files the lake has not
applied yet.

  --json   one JSON object instead of the table
)";

struct TableStatus {
  std::string schema, table;
  std::string state;
  uint64_t load_rows = 0, inserts = 0, updates = 0, deletes = 0, change_files = 0;
  std::string last_staged;
  std::string last_applied;   // "" when nothing is applied
  int64_t applied_seq = -1;   // the lake's txn version; -1: no lake table
  int64_t lake_version = -1;  // Delta version; -1: none (or a CSV lake)
  uint64_t pending = 0;
};

struct PipelineStatus {
  std::string position, gtid, snapshot;
  bool full_load_done = false;
  uint64_t next_sequence = 0;
  std::vector<TableStatus> tables;
};

// The applied sequence of a CSV lake table (its `_binlake_state.json`); -1 without one.
int64_t CsvLakeSequence(store::ObjectStore& table) {
  auto text = table.Get("_binlake_state.json");
  if (!text.ok()) return -1;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return -1;
  return j.value("sequence", int64_t{-1});
}

Result<PipelineStatus> ReadStatus(const config::Config& cfg) {
  PipelineStatus out;
  BL_ASSIGN_OR_RETURN(auto staging, staging::OpenStagingStore(cfg.capture.staging, cfg.store));
  auto cp_text = staging->Get("_binlake/checkpoint.json");
  if (!cp_text.ok() && cp_text.status().code() != StatusCode::kNotFound) return cp_text.status();
  if (cp_text.ok()) {
    auto j = nlohmann::json::parse(*cp_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return Status::Corruption(staging->uri() + "/_binlake/checkpoint.json is not JSON");
    }
    auto pos = [](const nlohmann::json& p) {
      if (!p.is_object()) return std::string();
      return p.value("file", std::string()) + ":" + std::to_string(p.value("pos", uint64_t{0}));
    };
    if (j.contains("position")) {
      out.position = pos(j["position"]);
      out.gtid = j["position"].value("gtid", std::string());
    }
    if (j.contains("snapshot")) out.snapshot = pos(j["snapshot"]);
    out.full_load_done = j.value("full_load_done", false);
    out.next_sequence = j.value("next_sequence", uint64_t{0});
  }
  store::ListOptions so;
  so.prefix = "_binlake/schemas/";
  BL_ASSIGN_OR_RETURN(auto schemas, staging->List(so));
  std::set<std::pair<std::string, std::string>> tables;
  for (const auto& o : schemas) {
    const std::string rest = o.key.substr(so.prefix.size());
    const size_t a = rest.find('/');
    const size_t b = a == std::string::npos ? a : rest.find('/', a + 1);
    if (b != std::string::npos) tables.insert({rest.substr(0, a), rest.substr(a + 1, b - a - 1)});
  }
  std::shared_ptr<store::ObjectStore> lake;
  if (auto l = store::OpenStore(cfg.lake.path, cfg.store); l.ok()) lake = std::move(*l);
  const bool csv_lake = cfg.lake.format == "csv";
  for (const auto& [schema, table] : tables) {
    TableStatus t;
    t.schema = schema;
    t.table = table;
    store::ListOptions lo;
    lo.prefix = schema + "/" + table + "/";
    BL_ASSIGN_OR_RETURN(auto objects, staging->List(lo));
    std::vector<std::string> loads;
    std::map<uint64_t, std::string> changes;  // sequence -> name
    for (const auto& o : objects) {
      const std::string n = o.key.substr(lo.prefix.size());
      if (n.find('/') != std::string::npos || !n.ends_with(".csv") || n[0] == '.') continue;
      if (n.starts_with("LOAD")) {
        loads.push_back(n);
      } else if (auto seq = lake::SequenceOfName(n)) {
        changes[*seq] = n;
      }
    }
    for (const auto& n : loads) {
      BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(*staging, schema, table, n));
      t.load_rows += m.rows;
    }
    for (const auto& [seq, n] : changes) {
      BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(*staging, schema, table, n));
      t.inserts += m.inserts;
      t.updates += m.updates;
      t.deletes += m.deletes;
    }
    t.change_files = changes.size();
    t.last_staged = !changes.empty() ? changes.rbegin()->second : loads.empty() ? "" : loads.back();
    bool in_lake = false;
    if (lake) {
      auto ts = lake::LakeTableStore(lake, schema, table);
      if (csv_lake) {
        t.applied_seq = CsvLakeSequence(*ts);
        in_lake = t.applied_seq >= 0;
      } else {
        BL_ASSIGN_OR_RETURN(auto snap, lake::ReadDeltaLog(*ts));
        in_lake = snap.version >= 0;
        t.lake_version = snap.version;
        if (in_lake) {
          auto it = snap.txns.find("binlake:" + schema + "." + table);
          t.applied_seq = it == snap.txns.end() ? 0 : it->second;
        }
      }
    }
    if (in_lake) {
      auto it = changes.find(static_cast<uint64_t>(std::max<int64_t>(t.applied_seq, 0)));
      t.last_applied = it != changes.end() ? it->second : loads.empty() ? "" : loads.back();
      for (const auto& [seq, n] : changes) {
        if (static_cast<int64_t>(seq) > t.applied_seq) t.pending++;
      }
    } else {
      t.pending = changes.size() + (out.full_load_done ? loads.size() : 0);
    }
    if (!out.full_load_done && cfg.capture.migration_type != "cdc") {
      t.state = "loading";
    } else if (!in_lake) {
      t.state = "queued";
    } else {
      t.state = "replicating";
    }
    out.tables.push_back(std::move(t));
  }
  return out;
}

std::string StatusJsonText(const PipelineStatus& s) {
  nlohmann::json j;
  j["checkpoint"] = {{"position", s.position},
                     {"gtid", s.gtid},
                     {"full_load_done", s.full_load_done},
                     {"snapshot", s.snapshot},
                     {"next_sequence", s.next_sequence}};
  nlohmann::json tables = nlohmann::json::array();
  uint64_t pending = 0;
  for (const auto& t : s.tables) {
    pending += t.pending;
    tables.push_back({{"table", t.schema + "." + t.table},
                      {"state", t.state},
                      {"full_load_rows", t.load_rows},
                      {"inserts", t.inserts},
                      {"updates", t.updates},
                      {"deletes", t.deletes},
                      {"change_files", t.change_files},
                      {"last_staged_file", t.last_staged},
                      {"last_applied_file", t.last_applied},
                      {"last_applied_sequence", t.applied_seq},
                      {"lake_version", t.lake_version},
                      {"files_pending", t.pending}});
  }
  j["tables"] = std::move(tables);
  j["files_pending"] = pending;
  return j.dump(2);
}

void PrintStatus(const config::Config& cfg, const PipelineStatus& s) {
  std::printf("staging: %s; lake: %s\n", cfg.capture.staging.c_str(), cfg.lake.path.c_str());
  std::printf("checkpoint: %s%s; full load %s\n",
              s.position.empty() ? "none yet" : s.position.c_str(),
              s.gtid.empty() ? "" : (" (GTID " + s.gtid + ")").c_str(),
              s.full_load_done ? ("done at " + s.snapshot).c_str() : "not done");
  size_t w = 5;
  for (const auto& t : s.tables) w = std::max(w, t.schema.size() + 1 + t.table.size());
  const int wi = static_cast<int>(w);
  std::printf("%-*s  %-11s  %10s  %9s  %9s  %9s  %-33s  %-33s  %7s\n", wi, "table", "state",
              "full_load", "inserts", "updates", "deletes", "last staged", "last applied",
              "pending");
  for (const auto& t : s.tables) {
    const std::string name = t.schema + "." + t.table;
    std::printf("%-*s  %-11s  %10llu  %9llu  %9llu  %9llu  %-33s  %-33s  %7llu\n", wi, name.c_str(),
                t.state.c_str(), static_cast<unsigned long long>(t.load_rows),
                static_cast<unsigned long long>(t.inserts),
                static_cast<unsigned long long>(t.updates),
                static_cast<unsigned long long>(t.deletes),
                t.last_staged.empty() ? "-" : t.last_staged.c_str(),
                t.last_applied.empty() ? "-" : t.last_applied.c_str(),
                static_cast<unsigned long long>(t.pending));
  }
  if (s.tables.empty()) std::printf("(no tables staged yet)\n");
}

}  // namespace

int StatusCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kStatusHelp, stdout);
    return 0;
  }
  Args rest;
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json") {
      json = true;
    } else {
      rest.push_back(a);
    }
  }
  auto config_arg = ConfigOnlyArgs("status", rest);
  if (!config_arg.ok()) return Fail(config_arg.status().message());
  if (config_arg->empty()) return Fail("status: --config FILE is required (docs/config.md)");
  auto cfg = config::LoadConfig(*config_arg);
  if (!cfg.ok()) return Fail("status: " + cfg.status().message());
  auto st = ReadStatus(*cfg);
  if (!st.ok()) return Fail("status: " + st.status().message());
  if (json) {
    std::printf("%s\n", StatusJsonText(*st).c_str());
  } else {
    PrintStatus(*cfg, *st);
  }
  return 0;
}

}  // namespace binlake::cli
