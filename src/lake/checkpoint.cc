// Delta log checkpoints: the state of a version in one Parquet file (classic, V1 spec), so a
// reader replays only the JSON commits after it; `_last_checkpoint` points at the newest.
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>

#include "lake/delta_log.h"
#include "lake/lake.h"
#include "lake/lake_internal.h"

namespace binlake::lake {
namespace {

using json = nlohmann::json;

// ---- the checkpoint schema (PROTOCOL.md "Checkpoint Schema"; no partitions, no stats_parsed)

std::shared_ptr<arrow::Schema> CheckpointSchema() {
  using arrow::field;
  const auto& str = arrow::utf8();
  const auto& i64 = arrow::int64();
  const auto map = arrow::map(str, str);
  const auto txn =
      arrow::struct_({field("appId", str), field("version", i64), field("lastUpdated", i64)});
  const auto add =
      arrow::struct_({field("path", str), field("partitionValues", map), field("size", i64),
                      field("modificationTime", i64), field("dataChange", arrow::boolean()),
                      field("stats", str), field("tags", map)});
  const auto remove = arrow::struct_({field("path", str), field("deletionTimestamp", i64),
                                      field("dataChange", arrow::boolean()),
                                      field("extendedFileMetadata", arrow::boolean()),
                                      field("partitionValues", map), field("size", i64)});
  const auto format = arrow::struct_({field("provider", str), field("options", map)});
  const auto metadata = arrow::struct_(
      {field("id", str), field("name", str), field("description", str), field("format", format),
       field("schemaString", str), field("partitionColumns", arrow::list(str)),
       field("configuration", map), field("createdTime", i64)});
  const auto protocol = arrow::struct_(
      {field("minReaderVersion", arrow::int32()), field("minWriterVersion", arrow::int32()),
       field("readerFeatures", arrow::list(str)), field("writerFeatures", arrow::list(str))});
  return arrow::schema({field("txn", txn), field("add", add), field("remove", remove),
                        field("metaData", metadata), field("protocol", protocol)});
}

// Appends a JSON value to a builder of `type`; absent, null or mistyped values become null.
Status AppendJson(const json* v, const arrow::DataType& type, arrow::ArrayBuilder* b) {
  if (v == nullptr || v->is_null()) return Check(b->AppendNull(), "checkpoint");
  switch (type.id()) {
    case arrow::Type::STRUCT: {
      if (!v->is_object()) break;
      auto* sb = static_cast<arrow::StructBuilder*>(b);
      BL_RETURN_IF_ERROR(Check(sb->Append(), "checkpoint"));
      for (int k = 0; k < type.num_fields(); k++) {
        const auto& f = type.field(k);
        auto it = v->find(f->name());
        BL_RETURN_IF_ERROR(
            AppendJson(it == v->end() ? nullptr : &*it, *f->type(), sb->field_builder(k)));
      }
      return Status::Ok();
    }
    case arrow::Type::MAP: {
      if (!v->is_object()) break;
      auto* mb = static_cast<arrow::MapBuilder*>(b);
      BL_RETURN_IF_ERROR(Check(mb->Append(), "checkpoint"));
      auto* keys = static_cast<arrow::StringBuilder*>(mb->key_builder());
      auto* items = static_cast<arrow::StringBuilder*>(mb->item_builder());
      for (const auto& [k, val] : v->items()) {
        BL_RETURN_IF_ERROR(Check(keys->Append(k), "checkpoint"));
        if (val.is_null()) {
          BL_RETURN_IF_ERROR(Check(items->AppendNull(), "checkpoint"));
        } else {
          BL_RETURN_IF_ERROR(Check(
              items->Append(val.is_string() ? val.get<std::string>() : val.dump()), "checkpoint"));
        }
      }
      return Status::Ok();
    }
    case arrow::Type::LIST: {
      if (!v->is_array()) break;
      auto* lb = static_cast<arrow::ListBuilder*>(b);
      BL_RETURN_IF_ERROR(Check(lb->Append(), "checkpoint"));
      const auto& elem = *static_cast<const arrow::ListType&>(type).value_type();
      for (const auto& e : *v) BL_RETURN_IF_ERROR(AppendJson(&e, elem, lb->value_builder()));
      return Status::Ok();
    }
    case arrow::Type::STRING:
      return Check(static_cast<arrow::StringBuilder*>(b)->Append(
                       v->is_string() ? v->get<std::string>() : v->dump()),
                   "checkpoint");
    case arrow::Type::INT32:
      if (!v->is_number_integer()) break;
      return Check(static_cast<arrow::Int32Builder*>(b)->Append(v->get<int32_t>()), "checkpoint");
    case arrow::Type::INT64:
      if (!v->is_number_integer()) break;
      return Check(static_cast<arrow::Int64Builder*>(b)->Append(v->get<int64_t>()), "checkpoint");
    case arrow::Type::BOOL:
      if (!v->is_boolean()) break;
      return Check(static_cast<arrow::BooleanBuilder*>(b)->Append(v->get<bool>()), "checkpoint");
    default:
      break;
  }
  return Check(b->AppendNull(), "checkpoint");
}

// A value of an Arrow array as JSON (checkpoints of any writer: only the types actions use).
// `*_parsed` struct fields (typed stats and partition values) are left out: the JSON forms
// (`stats`, `partitionValues`) carry the same.
json ArrowToJson(const arrow::Array& a, int64_t i) {
  switch (a.type_id()) {
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(a);
      json o = json::object();
      for (int k = 0; k < s.num_fields(); k++) {
        const std::string& name = s.type()->field(k)->name();
        if (name.ends_with("_parsed")) continue;
        const auto child = s.field(k);
        if (child->IsNull(i)) continue;
        json v = ArrowToJson(*child, i);
        if (!v.is_null()) o[name] = std::move(v);
      }
      return o;
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapArray&>(a);
      json o = json::object();
      const auto& keys = *m.keys();
      const auto& items = *m.items();
      for (int64_t k = m.value_offset(i); k < m.value_offset(i + 1); k++) {
        json key = ArrowToJson(keys, k);
        if (!key.is_string()) continue;
        o[key.get<std::string>()] = items.IsNull(k) ? json() : ArrowToJson(items, k);
      }
      return o;
    }
    case arrow::Type::LIST: {
      const auto& l = static_cast<const arrow::ListArray&>(a);
      json out = json::array();
      for (int64_t k = l.value_offset(i); k < l.value_offset(i + 1); k++) {
        out.push_back(l.values()->IsNull(k) ? json() : ArrowToJson(*l.values(), k));
      }
      return out;
    }
    case arrow::Type::LARGE_LIST: {
      const auto& l = static_cast<const arrow::LargeListArray&>(a);
      json out = json::array();
      for (int64_t k = l.value_offset(i); k < l.value_offset(i + 1); k++) {
        out.push_back(l.values()->IsNull(k) ? json() : ArrowToJson(*l.values(), k));
      }
      return out;
    }
    case arrow::Type::STRING:
      return std::string(static_cast<const arrow::StringArray&>(a).GetView(i));
    case arrow::Type::LARGE_STRING:
      return std::string(static_cast<const arrow::LargeStringArray&>(a).GetView(i));
    case arrow::Type::STRING_VIEW:
      return std::string(static_cast<const arrow::StringViewArray&>(a).GetView(i));
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(a).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(a).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(a).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(a).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(a).Value(i);
    default:
      return json();
  }
}

// "interval 1 week", "interval 7 days", "168 hours" -> milliseconds; nullopt if unreadable.
std::optional<int64_t> ParseInterval(const std::string& text) {
  std::string s;
  for (char c : text) s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (s.starts_with("interval")) s = s.substr(8);
  long long n = 0;
  char unit[32] = {0};
  if (std::sscanf(s.c_str(), " %lld %31s", &n, unit) != 2 || n < 0) return std::nullopt;
  std::string u = unit;
  if (u.ends_with("s")) u.pop_back();
  static const std::pair<const char*, int64_t> kUnits[] = {{"millisecond", 1}, {"second", 1000},
                                                           {"minute", 60000},  {"hour", 3600000},
                                                           {"day", 86400000},  {"week", 604800000}};
  for (const auto& [name, ms] : kUnits) {
    if (u == name) return n * ms;
  }
  return std::nullopt;
}

constexpr int64_t kDefaultTombstoneRetentionMs = int64_t{7} * 86400000;  // Delta's default

// Deletes the log entries and checkpoints older than the newest classic checkpoint at or
// below `keep_from` (PROTOCOL.md "Metadata Cleanup"); data files are never touched.
Status CleanupLog(store::ObjectStore& table, int64_t keep_from) {
  std::vector<std::pair<int64_t, std::string>> entries;
  int64_t cut = -1;
  store::ListOptions lo;
  lo.prefix = "_delta_log/";
  BL_ASSIGN_OR_RETURN(auto objects, table.List(lo));
  for (const auto& o : objects) {
    const std::string n = o.key.substr(lo.prefix.size());
    if (n.size() < 21 || n[20] != '.' || n.find('/') != std::string::npos) continue;
    if (!std::all_of(n.begin(), n.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    const int64_t v = std::strtoll(n.substr(0, 20).c_str(), nullptr, 10);
    const std::string rest = n.substr(21);
    if (rest == "checkpoint.parquet" && v <= keep_from && v > cut) cut = v;
    if (rest == "json" || rest == "crc" || rest.starts_with("checkpoint.")) {
      entries.emplace_back(v, o.key);
    }
  }
  if (cut < 0) return Status::Ok();
  for (const auto& [v, key] : entries) {
    if (v < cut) BL_RETURN_IF_ERROR(table.Delete(key));
  }
  return Status::Ok();
}

}  // namespace

Status ReadCheckpointActions(store::ObjectStore& table, const std::string& key,
                             bool with_tombstones,
                             const std::function<Status(const json&)>& action) {
  const std::string path = table.uri() + "/" + key;
  BL_ASSIGN_OR_RETURN(auto in, OpenArrowInput(table, key));
  auto reader = parquet::arrow::OpenFile(in, arrow::default_memory_pool());
  if (!reader.ok()) return Status::Corruption(path + ": " + reader.status().ToString());
  std::shared_ptr<arrow::Schema> schema;
  BL_RETURN_IF_ERROR(Check((*reader)->GetSchema(&schema), path));
  // The sidecar column first: a checkpoint that points elsewhere is refused before any action.
  std::vector<std::string> columns = {"sidecar", "protocol", "metaData", "txn", "add"};
  if (with_tombstones) columns.push_back("remove");
  int protocols = 0, metadatas = 0;
  for (const auto& name : columns) {
    const int idx = schema->GetFieldIndex(name);
    if (idx < 0) continue;
    std::shared_ptr<arrow::ChunkedArray> col;
    BL_RETURN_IF_ERROR(Check((*reader)->ReadColumn(idx, &col), path + " column " + name));
    for (const auto& chunk : col->chunks()) {
      for (int64_t i = 0; i < chunk->length(); i++) {
        if (chunk->IsNull(i)) continue;
        if (name == "sidecar") {
          return Status::NotSupported(path +
                                      " is a V2 checkpoint with sidecar files; binlake reads "
                                      "checkpoints that hold every action themselves");
        }
        protocols += name == "protocol";
        metadatas += name == "metaData";
        BL_RETURN_IF_ERROR(action(json{{name, ArrowToJson(*chunk, i)}}));
      }
    }
  }
  if (protocols != 1 || metadatas != 1) {
    return Status::Corruption(path + " holds " + std::to_string(protocols) + " protocol and " +
                              std::to_string(metadatas) +
                              " metaData actions; a checkpoint has one "
                              "of each");
  }
  return Status::Ok();
}

Status WriteDeltaCheckpoint(store::ObjectStore& store, int64_t version) {
  const std::string table_dir = store.uri();
  ReplayOptions ro;
  ro.up_to = version;
  ro.full = true;
  BL_ASSIGN_OR_RETURN(auto state, ReplayDeltaLog(store, ro));
  if (state.snap.version != version) {
    return Status::NotFound(table_dir + ": version " + std::to_string(version) +
                            " is not committed; no checkpoint written");
  }
  if (!state.protocol.is_object() || !state.metadata.is_object()) {
    return Status::Corruption(table_dir + ": version " + std::to_string(version) +
                              " has no protocol or metaData action");
  }
  // Tombstones stay until they expire (delta.deletedFileRetentionDuration, default a week).
  int64_t retention = kDefaultTombstoneRetentionMs;
  auto r = state.snap.configuration.find("delta.deletedFileRetentionDuration");
  if (r != state.snap.configuration.end()) retention = ParseInterval(r->second).value_or(retention);
  const int64_t expired_before = NowMillis() - retention;

  // One row per action; a row's JSON is built when its column is written, one at a time.
  struct Row {
    char kind;  // the column: p(rotocol) m(etaData) t(xn) a(dd) r(emove)
    const std::string* path = nullptr;
    const json* body = nullptr;
    const Tombstone* tombstone = nullptr;
  };
  std::vector<Row> rows;
  rows.push_back({'p', nullptr, &state.protocol});
  rows.push_back({'m', nullptr, &state.metadata});
  for (const auto& [app, txn] : state.txns) rows.push_back({'t', nullptr, &txn});
  for (const auto& [path, add] : state.adds) rows.push_back({'a', nullptr, &add});
  for (const auto& [path, t] : state.tombstones) {
    if (t.deletion_timestamp < expired_before) continue;
    rows.push_back({'r', &path, nullptr, &t});
  }

  const auto schema = CheckpointSchema();
  arrow::ArrayVector arrays;
  for (const auto& f : schema->fields()) {
    const std::string& col = f->name();
    const char kind = col == "protocol"   ? 'p'
                      : col == "metaData" ? 'm'
                      : col == "txn"      ? 't'
                      : col == "add"      ? 'a'
                                          : 'r';
    auto b = arrow::MakeBuilder(f->type());
    if (!b.ok()) return Status::Internal(b.status().ToString());
    for (const Row& row : rows) {
      if (row.kind != kind) {
        BL_RETURN_IF_ERROR(Check((*b)->AppendNull(), "checkpoint " + col));
      } else if (row.body) {
        BL_RETURN_IF_ERROR(AppendJson(row.body, *f->type(), b->get()));
      } else {
        const Tombstone& t = *row.tombstone;
        json rm = {{"path", *row.path},
                   {"deletionTimestamp", t.deletion_timestamp},
                   {"dataChange", t.data_change},
                   {"extendedFileMetadata", t.extended_file_metadata}};
        if (t.size >= 0) rm["size"] = t.size;
        if (!t.partition_values.empty()) {
          rm["partitionValues"] = json::parse(t.partition_values, nullptr, false);
        }
        BL_RETURN_IF_ERROR(AppendJson(&rm, *f->type(), b->get()));
      }
    }
    std::shared_ptr<arrow::Array> a;
    BL_RETURN_IF_ERROR(Check((*b)->Finish(&a), "checkpoint " + col));
    arrays.push_back(std::move(a));
  }
  const auto table = arrow::Table::Make(schema, arrays, static_cast<int64_t>(rows.size()));
  const std::string name = CheckpointName(version);
  const std::string key = "_delta_log/" + name;
  {
    BL_ASSIGN_OR_RETURN(auto out, CreateArrowOutput(store, key));
    auto props =
        parquet::WriterProperties::Builder().compression(parquet::Compression::SNAPPY)->build();
    BL_RETURN_IF_ERROR(
        Check(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1 << 20, props),
              table_dir + "/" + key));
    BL_RETURN_IF_ERROR(Check(out->Close(), table_dir + "/" + key));
  }

  // `_last_checkpoint` never moves back (another writer may have checkpointed a newer version).
  auto last = ReadLastCheckpoint(store);
  if (last && last->version > version) return Status::Ok();
  auto info = store.Stat(key);
  const int64_t bytes = info.ok() ? static_cast<int64_t>(info->size) : 0;
  const std::string hint = json{{"version", version},
                                {"size", static_cast<int64_t>(rows.size())},
                                {"sizeInBytes", bytes},
                                {"numOfAddFiles", static_cast<int64_t>(state.adds.size())}}
                               .dump();
  return store.Put("_delta_log/_last_checkpoint", hint);
}

Status WriteDeltaCheckpoint(const std::string& table_uri, int64_t version) {
  BL_ASSIGN_OR_RETURN(auto s, store::OpenStore(table_uri));
  return WriteDeltaCheckpoint(*s, version);
}

Status MaybeCheckpoint(store::ObjectStore& table, int64_t version,
                       const CheckpointOptions& options) {
  if (options.interval <= 0 || version <= 0) return Status::Ok();
  const auto last = ReadLastCheckpoint(table);
  const bool due = version % options.interval == 0 ||
                   (last && last->parts == 0 && version - last->version >= options.interval);
  if (!due) return Status::Ok();
  BL_RETURN_IF_ERROR(WriteDeltaCheckpoint(table, version));
  if (options.log_retention_versions > 0) {
    BL_RETURN_IF_ERROR(CleanupLog(table, version - options.log_retention_versions));
  }
  return Status::Ok();
}

Status MaybeCheckpoint(const std::string& table_uri, int64_t version,
                       const CheckpointOptions& options) {
  BL_ASSIGN_OR_RETURN(auto s, store::OpenStore(table_uri));
  return MaybeCheckpoint(*s, version, options);
}

}  // namespace binlake::lake
