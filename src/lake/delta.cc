// The Delta log: commit a version only if absent; read the active files (the replay: delta_log.cc).
#include <arrow/io/file.h>
#include <dirent.h>
#include <fcntl.h>
#include <parquet/arrow/reader.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "lake/lake.h"
#include "lake/lake_internal.h"
#include "util/files.h"

namespace binlake::lake {

std::string DeltaLogName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return name;
}

Result<bool> TryCommitDelta(const std::string& table_dir, int64_t version,
                            const std::vector<std::string>& action_lines) {
  const std::string log_dir = JoinPath(table_dir, "_delta_log");
  BL_RETURN_IF_ERROR(MakeDirs(log_dir));
  std::string content;
  for (const auto& l : action_lines) content += l + "\n";
  const std::string tmp = JoinPath(log_dir, ".commit-" + NewUuid() + ".json.tmp");
  {
    BL_ASSIGN_OR_RETURN(auto f, AppendFile::Create(tmp));
    BL_RETURN_IF_ERROR(f->Append(content));
    BL_RETURN_IF_ERROR(f->Close());
  }
  const std::string target = JoinPath(log_dir, DeltaLogName(version));
  // link(2) fails with EEXIST instead of replacing: a log entry is never overwritten.
  const int rc = link(tmp.c_str(), target.c_str());
  const int err = errno;
  unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return false;
    return Status::IOError("cannot create " + target + ": " + std::strerror(err));
  }
  BL_RETURN_IF_ERROR(SyncDir(log_dir));
  return true;
}

Result<std::shared_ptr<arrow::Table>> ReadParquet(const std::string& path) {
  auto in = arrow::io::ReadableFile::Open(path);
  if (!in.ok()) return Status::IOError("cannot open " + path + ": " + in.status().ToString());
  auto reader = parquet::arrow::OpenFile(*in, arrow::default_memory_pool());
  if (!reader.ok()) return Status::Corruption(path + ": " + reader.status().ToString());
  auto table = (*reader)->ReadTable();
  if (!table.ok()) return Status::Corruption(path + ": " + table.status().ToString());
  return *table;
}

Result<std::shared_ptr<arrow::Table>> ReadLakeTable(const std::string& table_dir) {
  BL_ASSIGN_OR_RETURN(auto snap, ReadDeltaLog(table_dir));
  if (snap.version < 0) return Status::NotFound("no Delta table at " + table_dir);
  std::vector<std::shared_ptr<arrow::Table>> parts;
  for (const auto& [path, size] : snap.files) {
    BL_ASSIGN_OR_RETURN(auto t, ReadParquet(JoinPath(table_dir, path)));
    parts.push_back(std::move(t));
  }
  if (parts.empty()) {
    BL_ASSIGN_OR_RETURN(auto schema, ArrowSchemaFromDelta(snap.schema_string));
    auto empty = arrow::Table::MakeEmpty(schema);
    if (!empty.ok()) return Status::Internal(empty.status().ToString());
    return *empty;
  }
  auto t = arrow::ConcatenateTables(parts);
  if (!t.ok()) return Status::Corruption(table_dir + ": files differ in schema");
  return *t;
}

}  // namespace binlake::lake
