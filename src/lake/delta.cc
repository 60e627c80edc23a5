// The Delta log: commit a version only if absent; read the active files (the replay: delta_log.cc).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "lake/lake.h"
#include "lake/lake_internal.h"

namespace binlake::lake {

std::string DeltaLogName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return name;
}

Result<bool> TryCommitDelta(store::ObjectStore& table, int64_t version,
                            const std::vector<std::string>& action_lines) {
  std::string content;
  for (const auto& l : action_lines) content += l + "\n";
  Status st =
      table.Put("_delta_log/" + DeltaLogName(version), content, store::PutMode::kCreateIfAbsent);
  if (st.code() == StatusCode::kAlreadyExists) return false;
  BL_RETURN_IF_ERROR(st);
  return true;
}

Result<bool> TryCommitDelta(const std::string& table_uri, int64_t version,
                            const std::vector<std::string>& action_lines) {
  BL_ASSIGN_OR_RETURN(auto s, store::OpenStore(table_uri));
  return TryCommitDelta(*s, version, action_lines);
}

Result<std::shared_ptr<arrow::Table>> ReadLakeTable(store::ObjectStore& table) {
  BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(table));
  if (snap.version < 0) return Status::NotFound("no Delta table at " + table.uri());
  BL_ASSIGN_OR_RETURN(auto schema, ArrowSchemaFromDelta(snap.schema_string));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  for (const auto& [path, size] : snap.files) {
    BL_ASSIGN_OR_RETURN(auto key, DataFileKey(path));
    BL_ASSIGN_OR_RETURN(auto t, ReadParquet(table, key));
    arrow::TableBatchReader reader(*t);
    for (;;) {
      std::shared_ptr<arrow::RecordBatch> batch;
      BL_RETURN_IF_ERROR(Check(reader.ReadNext(&batch), table.uri() + "/" + key));
      if (!batch) break;
      BL_ASSIGN_OR_RETURN(batch, AlignBatch(batch, schema, table.uri() + "/" + key));
      batches.push_back(std::move(batch));
    }
  }
  auto t = arrow::Table::FromRecordBatches(schema, batches);
  if (!t.ok()) return Status::Internal(table.uri() + ": " + t.status().ToString());
  return *t;
}

Result<std::shared_ptr<arrow::Table>> ReadLakeTable(const std::string& table_uri) {
  BL_ASSIGN_OR_RETURN(auto s, OpenTableStore(table_uri, {}));
  if (!s) return Status::NotFound("no Delta table at " + table_uri);
  return ReadLakeTable(*s);
}

std::unique_ptr<store::ObjectStore> LakeTableStore(std::shared_ptr<store::ObjectStore> lake,
                                                   const std::string& schema,
                                                   const std::string& table) {
  return store::SubStore(std::move(lake), schema + "/" + table + "/");
}

}  // namespace binlake::lake
