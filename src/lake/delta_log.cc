// Reading the Delta log: the newest usable checkpoint, then the JSON commits after it.
#include "lake/delta_log.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "lake/lake_internal.h"

namespace binlake::lake {
namespace {

using json = nlohmann::json;

std::string GetString(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t GetInt(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

bool GetBool(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_boolean() && it->get<bool>();
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What the log folder holds: the checkpoints by kind and the first JSON commit.
struct LogListing {
  std::vector<int64_t> classic;    // classic single-file checkpoints, ascending
  int64_t newest_checkpoint = -1;  // of any kind
  std::string newest_name;         // its file name
  int64_t first_commit = -1;       // lowest NNN.json
  bool any = false;                // any commit or checkpoint at all
};

Result<LogListing> ListLog(store::ObjectStore& table, int64_t up_to) {
  LogListing l;
  store::ListOptions lo;
  lo.prefix = "_delta_log/";
  BL_ASSIGN_OR_RETURN(auto objects, table.List(lo));
  for (const auto& o : objects) {
    const std::string_view n = std::string_view(o.key).substr(lo.prefix.size());
    if (n == "_last_checkpoint") l.any = true;  // a log whose checkpoint is gone is no new table
    if (n.size() < 21 || !IsDigits(n.substr(0, 20)) || n[20] != '.') continue;
    if (n.find('/') != std::string_view::npos) continue;
    const int64_t v = std::strtoll(std::string(n.substr(0, 20)).c_str(), nullptr, 10);
    const std::string_view rest = n.substr(21);
    if (rest == "json") {
      l.any = true;
      if (l.first_commit < 0 || v < l.first_commit) l.first_commit = v;
      continue;
    }
    if (!rest.starts_with("checkpoint.")) continue;
    if (!rest.ends_with(".parquet") && !rest.ends_with(".json")) continue;
    l.any = true;
    if (up_to >= 0 && v > up_to) continue;
    if (rest == "checkpoint.parquet") l.classic.push_back(v);
    if (v > l.newest_checkpoint || (v == l.newest_checkpoint && rest == "checkpoint.parquet")) {
      l.newest_checkpoint = v;
      l.newest_name = std::string(n);
    }
  }
  std::sort(l.classic.begin(), l.classic.end());
  return l;
}

// Why binlake cannot use a checkpoint that is not a classic single-file one.
std::string UnsupportedKind(const std::string& name) {
  if (name.ends_with(".checkpoint.parquet")) return "";
  const size_t parts = std::count(name.begin(), name.end(), '.');
  if (parts == 4) {
    return name + " is a multi-part checkpoint; binlake reads classic single-file checkpoints only";
  }
  return name +
         " is a V2 (UUID-named) checkpoint; binlake reads classic single-file checkpoints only";
}

Status ApplyAction(const json& j, bool full, DeltaLogState* s, const std::string& where) {
  if (!j.is_object()) return Status::Corruption(where + ": an action is not a JSON object");
  // Unknown action kinds are ignored (the protocol's rule); a known one must have its shape.
  for (const char* kind : {"add", "remove", "txn", "metaData", "protocol"}) {
    auto it = j.find(kind);
    if (it == j.end()) continue;
    const bool needs_path = std::strcmp(kind, "add") == 0 || std::strcmp(kind, "remove") == 0;
    if (!it->is_object() || (needs_path && GetString(*it, "path").empty())) {
      return Status::Corruption(
          where + ": the " + kind + " action is not an object with its fields (" +
          j.dump().substr(0, 80) + "); the log is damaged: restore the file from a backup");
    }
  }
  DeltaSnapshot& snap = s->snap;
  if (auto it = j.find("add"); it != j.end() && it->is_object()) {
    const json& a = *it;
    const std::string path = GetString(a, "path");
    if (auto dv = a.find("deletionVector"); dv != a.end() && !dv->is_null()) {
      return Status::NotSupported(where + ": " + path +
                                  " has a deletion vector, which binlake does not implement");
    }
    snap.files[path] = GetInt(a, "size");
    if (full) {
      s->tombstones.erase(path);
      s->adds[path] = a;
    }
  } else if (auto it = j.find("remove"); it != j.end() && it->is_object()) {
    const json& r = *it;
    const std::string path = GetString(r, "path");
    snap.files.erase(path);
    if (full) {
      s->adds.erase(path);
      Tombstone& t = s->tombstones[path];
      t.deletion_timestamp = GetInt(r, "deletionTimestamp");
      auto size = r.find("size");
      t.size = size != r.end() && size->is_number_integer() ? size->get<int64_t>() : -1;
      t.data_change = GetBool(r, "dataChange");
      t.extended_file_metadata = GetBool(r, "extendedFileMetadata");
      auto pv = r.find("partitionValues");
      t.partition_values = pv != r.end() && pv->is_object() ? pv->dump() : std::string();
    }
  } else if (auto it = j.find("txn"); it != j.end() && it->is_object()) {
    const std::string app = GetString(*it, "appId");
    snap.txns[app] = GetInt(*it, "version");
    if (full) s->txns[app] = *it;
  } else if (auto it = j.find("metaData"); it != j.end() && it->is_object()) {
    const json& m = *it;
    snap.table_id = GetString(m, "id");
    snap.schema_string = GetString(m, "schemaString");
    snap.configuration.clear();
    if (auto c = m.find("configuration"); c != m.end() && c->is_object()) {
      for (const auto& [k, val] : c->items()) {
        if (val.is_string()) snap.configuration[k] = val.get<std::string>();
      }
    }
    s->metadata = m;
  } else if (auto it = j.find("protocol"); it != j.end() && it->is_object()) {
    snap.min_reader = static_cast<int>(GetInt(*it, "minReaderVersion"));
    snap.min_writer = static_cast<int>(GetInt(*it, "minWriterVersion"));
    s->protocol = *it;
  }
  return Status::Ok();
}

// binlake reads plain Parquet files named by add actions: refuse tables that need more.
Status CheckReadable(const std::string& table_dir, const DeltaLogState& s) {
  if (s.snap.version < 0) return Status::Ok();
  if (s.snap.min_reader > 3) {
    return Status::NotSupported(table_dir + " needs Delta reader version " +
                                std::to_string(s.snap.min_reader) + "; binlake reads up to 3");
  }
  static const std::set<std::string> kKnown = {"timestampNtz", "vacuumProtocolCheck",
                                               "v2Checkpoint"};
  if (auto f = s.protocol.find("readerFeatures"); f != s.protocol.end() && f->is_array()) {
    for (const auto& name : *f) {
      if (!name.is_string() || !kKnown.count(name.get<std::string>())) {
        return Status::NotSupported(table_dir + " needs the Delta reader feature " + name.dump() +
                                    ", which binlake does not implement");
      }
    }
  }
  auto mode = s.snap.configuration.find("delta.columnMapping.mode");
  if (mode != s.snap.configuration.end() && mode->second != "none") {
    return Status::NotSupported(table_dir +
                                " uses column mapping, which binlake does not implement");
  }
  return Status::Ok();
}

}  // namespace

std::string CheckpointName(int64_t version) {
  char name[48];
  std::snprintf(name, sizeof(name), "%020lld.checkpoint.parquet", static_cast<long long>(version));
  return name;
}

std::optional<LastCheckpoint> ReadLastCheckpoint(store::ObjectStore& table) {
  auto text = table.Get("_delta_log/_last_checkpoint");
  if (!text.ok()) return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() < 0) return std::nullopt;
  LastCheckpoint lc;
  lc.version = v->get<int64_t>();
  if (auto p = j.find("parts"); p != j.end() && p->is_number_integer() && p->get<int64_t>() > 1) {
    lc.parts = p->get<int64_t>();
  }
  if (j.contains("v2Checkpoint")) lc.parts = -1;  // a UUID-named V2 checkpoint
  return lc;
}

Result<DeltaLogState> ReplayDeltaLog(store::ObjectStore& table, const ReplayOptions& o) {
  const std::string table_dir = table.uri();
  auto in_range = [&](int64_t v) { return o.up_to < 0 || v <= o.up_to; };
  // Checkpoints to try, newest first: `_last_checkpoint`'s, else (or when it cannot be read)
  // the classic checkpoints a listing finds. The listing is skipped on the common path.
  std::vector<int64_t> candidates;
  std::optional<LogListing> listing;
  std::string why;  // why a newer checkpoint was not used
  auto list = [&]() -> Status {
    if (listing) return Status::Ok();
    BL_ASSIGN_OR_RETURN(auto l, ListLog(table, o.up_to));
    listing = std::move(l);
    if (why.empty() && listing->newest_checkpoint >= 0) why = UnsupportedKind(listing->newest_name);
    for (auto it = listing->classic.rbegin(); it != listing->classic.rend(); ++it) {
      if (std::find(candidates.begin(), candidates.end(), *it) == candidates.end()) {
        candidates.push_back(*it);
      }
    }
    return Status::Ok();
  };
  if (o.checkpoints) {
    auto hint = ReadLastCheckpoint(table);
    if (hint && hint->parts == 0 && in_range(hint->version)) {
      candidates.push_back(hint->version);
    } else {
      BL_RETURN_IF_ERROR(list());
    }
  }
  for (size_t i = 0;; i++) {
    DeltaLogState s;
    if (i < candidates.size()) {
      const int64_t cp = candidates[i];
      const std::string key = "_delta_log/" + CheckpointName(cp);
      const std::string path = table_dir + "/" + key;
      Status st = ReadCheckpointActions(
          table, key, o.full, [&](const json& a) { return ApplyAction(a, o.full, &s, path); });
      if (!st.ok()) {
        // Not usable (torn copy, unknown layout): an older checkpoint or the JSON log may do.
        if (st.code() == StatusCode::kNotSupported && why.empty()) why = st.message();
        if (why.empty()) why = "checkpoint " + path + ": " + st.message();
        BL_RETURN_IF_ERROR(list());
        continue;
      }
      s.snap.version = cp;
      s.snap.checkpoint_version = cp;
    } else if (!table.Stat("_delta_log/" + DeltaLogName(0)).ok()) {
      BL_RETURN_IF_ERROR(list());
      if (listing->any) {
        return Status::NotSupported("cannot read the Delta log of " + table_dir + ": " +
                                    (why.empty() ? "it starts at version " +
                                                       std::to_string(listing->first_commit) +
                                                       " and has no checkpoint binlake can read"
                                                 : why + "; and the log before it was cleaned up") +
                                    "; restore the missing log files from a backup");
      }
      return s;  // no table yet
    }
    for (int64_t v = s.snap.version + 1; in_range(v); v++) {
      const std::string key = "_delta_log/" + DeltaLogName(v);
      const std::string path = table_dir + "/" + key;
      auto text = table.Get(key);
      if (!text.ok()) {
        if (text.status().code() != StatusCode::kNotFound) return text.status();
        // The end of the log, unless a later commit exists: then a version is missing, and
        // committing over the gap would rewrite history.
        if (!table.Stat("_delta_log/" + DeltaLogName(v + 1)).ok()) break;
        if (table.Stat(key).ok()) {  // committed meanwhile by another writer
          v--;
          continue;
        }
        return Status::Corruption(path + " is missing but version " + std::to_string(v + 1) +
                                  " exists: the Delta log has a gap; restore the file from a "
                                  "backup (binlake will not commit over it)");
      }
      size_t pos = 0;
      while (pos < text->size()) {
        size_t nl = text->find('\n', pos);
        if (nl == std::string::npos) nl = text->size();
        const std::string_view line(text->data() + pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        auto j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          return Status::Corruption(path + ": a line is not a JSON action (" +
                                    std::string(line.substr(0, 40)) +
                                    "); the log is damaged: restore the file from a backup");
        }
        BL_RETURN_IF_ERROR(ApplyAction(j, o.full, &s, path));
      }
      s.snap.version = v;
    }
    // A newer checkpoint that could not be read must not hide versions the JSON log lacks.
    if (listing && listing->newest_checkpoint > s.snap.version) {
      return Status::NotSupported("cannot read the Delta log of " + table_dir + " up to version " +
                                  std::to_string(listing->newest_checkpoint) + ": " + why);
    }
    BL_RETURN_IF_ERROR(CheckReadable(table_dir, s));
    return s;
  }
}

Result<DeltaSnapshot> ReadDeltaLog(store::ObjectStore& table) {
  BL_ASSIGN_OR_RETURN(auto s, ReplayDeltaLog(table, ReplayOptions{}));
  return std::move(s.snap);
}

Result<DeltaLogState> ReplayDeltaLog(const std::string& table_uri, const ReplayOptions& options) {
  BL_ASSIGN_OR_RETURN(auto s, OpenTableStore(table_uri, {}));
  if (!s) return DeltaLogState{};
  return ReplayDeltaLog(*s, options);
}

std::optional<LastCheckpoint> ReadLastCheckpoint(const std::string& table_uri) {
  auto s = OpenTableStore(table_uri, {});
  if (!s.ok() || !*s) return std::nullopt;
  return ReadLastCheckpoint(**s);
}

Status ReadCheckpointActions(const std::string& path, bool with_tombstones,
                             const std::function<Status(const json&)>& action) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return Status::InvalidArgument(path + " is not a path");
  BL_ASSIGN_OR_RETURN(auto s, OpenTableStore(path.substr(0, slash), {}));
  if (!s) return Status::NotFound(path + " does not exist");
  return ReadCheckpointActions(*s, path.substr(slash + 1), with_tombstones, action);
}

Result<DeltaSnapshot> ReadDeltaLog(const std::string& table_uri) {
  BL_ASSIGN_OR_RETURN(auto s, OpenTableStore(table_uri, {}));
  if (!s) return DeltaSnapshot{};
  return ReadDeltaLog(*s);
}

}  // namespace binlake::lake
