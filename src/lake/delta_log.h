// The Delta log's state at a version, replayed from a checkpoint and the JSON commits after it
// (internal to src/lake; the public view is DeltaSnapshot).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lake/lake.h"
#include "util/status.h"

namespace binlake::lake {

// A remove tombstone as a checkpoint keeps it. Compact: a week of them (the default expiry) on a
// table committed to every second is hundreds of thousands.
struct Tombstone {
  int64_t deletion_timestamp = 0;  // 0: absent
  int64_t size = -1;               // -1: absent
  bool data_change = false;
  bool extended_file_metadata = false;
  std::string partition_values;  // the JSON object's text; empty: absent
  bool operator==(const Tombstone&) const = default;
};

// Everything a checkpoint holds. The action bodies are kept only with ReplayOptions::full.
struct DeltaLogState {  // NOLINT(bugprone-exception-escape): moving nlohmann::json never throws
  DeltaSnapshot snap;
  nlohmann::json protocol, metadata;            // the latest protocol / metaData bodies
  std::map<std::string, nlohmann::json> adds;   // path -> add body
  std::map<std::string, Tombstone> tombstones;  // path -> remove
  std::map<std::string, nlohmann::json> txns;   // appId -> txn body
};

struct ReplayOptions {
  int64_t up_to = -1;       // stop at this version; -1: the latest
  bool full = false;        // keep the action bodies and the tombstones (to write a checkpoint)
  bool checkpoints = true;  // start from the newest usable checkpoint; false: every JSON commit
};

Result<DeltaLogState> ReplayDeltaLog(store::ObjectStore& table, const ReplayOptions& options);
Result<DeltaLogState> ReplayDeltaLog(const std::string& table_uri, const ReplayOptions& options);

// `_last_checkpoint`: the version it names and, for multi-part checkpoints, the part count.
struct LastCheckpoint {
  int64_t version = -1;
  int64_t parts = 0;  // 0: a single file
};
// nullopt when absent or unreadable (a reader then lists the log folder).
std::optional<LastCheckpoint> ReadLastCheckpoint(store::ObjectStore& table);
std::optional<LastCheckpoint> ReadLastCheckpoint(const std::string& table_uri);

std::string CheckpointName(int64_t version);  // 00000000000000000100.checkpoint.parquet

// Calls `action` with each action of a classic single-file checkpoint as the JSON log has it
// ({"add": {...}}): protocol, metaData, txn, add and (with `with_tombstones`) remove. Unknown
// columns are ignored; NotSupported for a V2 checkpoint that points to sidecar files, Corruption
// without exactly one protocol and one metaData.
Status ReadCheckpointActions(store::ObjectStore& table, const std::string& key,
                             bool with_tombstones,
                             const std::function<Status(const nlohmann::json&)>& action);
// The same for a checkpoint file given by its path or URI.
Status ReadCheckpointActions(const std::string& path, bool with_tombstones,
                             const std::function<Status(const nlohmann::json&)>& action);

}  // namespace binlake::lake
