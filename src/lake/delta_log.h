// The Delta log's state at a version, replayed from a checkpoint and the JSON commits after it
// (internal to src/lake; the public view is DeltaSnapshot).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "util/status.h"

namespace binlake::lake {

// Everything a checkpoint holds. The action bodies are kept only with ReplayOptions::full.
struct DeltaLogState {  // NOLINT(bugprone-exception-escape): moving nlohmann::json never throws
  DeltaSnapshot snap;
  nlohmann::json protocol, metadata;                 // the latest protocol / metaData bodies
  std::map<std::string, nlohmann::json> adds;        // path -> add body
  std::map<std::string, nlohmann::json> tombstones;  // path -> remove body
  std::map<std::string, nlohmann::json> txns;        // appId -> txn body
};

struct ReplayOptions {
  int64_t up_to = -1;       // stop at this version; -1: the latest
  bool full = false;        // keep the action bodies and the tombstones (to write a checkpoint)
  bool checkpoints = true;  // start from the newest usable checkpoint; false: every JSON commit
};

Result<DeltaLogState> ReplayDeltaLog(const std::string& table_dir, const ReplayOptions& options);

// `_last_checkpoint`: the version it names and, for multi-part checkpoints, the part count.
struct LastCheckpoint {
  int64_t version = -1;
  int64_t parts = 0;  // 0: a single file
};
// nullopt when absent or unreadable (a reader then lists the log folder).
std::optional<LastCheckpoint> ReadLastCheckpoint(const std::string& log_dir);

std::string CheckpointName(int64_t version);  // 00000000000000000100.checkpoint.parquet

// The actions of a classic single-file checkpoint, one JSON object per row ({"add": {...}}):
// protocol, metaData, txn, add and (with `with_tombstones`) remove. Unknown columns are ignored;
// NotSupported for a V2 checkpoint that points to sidecar files.
Result<std::vector<nlohmann::json>> ReadCheckpointActions(const std::string& path,
                                                          bool with_tombstones);

}  // namespace binlake::lake
