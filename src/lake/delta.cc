// The Delta log: replay to the active files and txn versions; commit a version only if absent.
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
#include "staging/files.h"

namespace binlake::lake {

std::string DeltaLogName(int64_t version) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld.json", static_cast<long long>(version));
  return name;
}

Result<DeltaSnapshot> ReadDeltaLog(const std::string& table_dir) {
  DeltaSnapshot snap;
  const std::string log_dir = staging::JoinPath(table_dir, "_delta_log");
  if (access(staging::JoinPath(log_dir, "_last_checkpoint").c_str(), F_OK) == 0) {
    return Status::NotSupported(log_dir + " has a checkpoint, which binlake cannot read yet");
  }
  for (int64_t v = 0;; v++) {
    const std::string path = staging::JoinPath(log_dir, DeltaLogName(v));
    auto text = staging::ReadWholeFile(path);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound) break;
      return text.status();
    }
    size_t pos = 0;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      const std::string_view line(text->data() + pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        return Status::Corruption(path + ": a line is not a JSON action");
      }
      if (j.contains("add")) {
        const auto& a = j["add"];
        snap.files[a.value("path", "")] = a.value("size", int64_t{0});
      } else if (j.contains("remove")) {
        snap.files.erase(j["remove"].value("path", ""));
      } else if (j.contains("txn")) {
        snap.txns[j["txn"].value("appId", "")] = j["txn"].value("version", int64_t{0});
      } else if (j.contains("metaData")) {
        const auto& m = j["metaData"];
        snap.table_id = m.value("id", "");
        snap.schema_string = m.value("schemaString", "");
        snap.configuration.clear();
        if (m.contains("configuration") && m["configuration"].is_object()) {
          for (const auto& [k, val] : m["configuration"].items()) {
            if (val.is_string()) snap.configuration[k] = val.get<std::string>();
          }
        }
      } else if (j.contains("protocol")) {
        snap.min_reader = j["protocol"].value("minReaderVersion", 0);
        snap.min_writer = j["protocol"].value("minWriterVersion", 0);
      }
    }
    snap.version = v;
  }
  return snap;
}

Result<bool> TryCommitDelta(const std::string& table_dir, int64_t version,
                            const std::vector<std::string>& action_lines) {
  const std::string log_dir = staging::JoinPath(table_dir, "_delta_log");
  BL_RETURN_IF_ERROR(staging::MakeDirs(log_dir));
  std::string content;
  for (const auto& l : action_lines) content += l + "\n";
  const std::string tmp = staging::JoinPath(log_dir, ".commit-" + NewUuid() + ".json.tmp");
  {
    BL_ASSIGN_OR_RETURN(auto f, staging::AppendFile::Create(tmp));
    BL_RETURN_IF_ERROR(f->Append(content));
    BL_RETURN_IF_ERROR(f->Close());
  }
  const std::string target = staging::JoinPath(log_dir, DeltaLogName(version));
  // link(2) fails with EEXIST instead of replacing: a log entry is never overwritten.
  const int rc = link(tmp.c_str(), target.c_str());
  const int err = errno;
  unlink(tmp.c_str());
  if (rc != 0) {
    if (err == EEXIST) return false;
    return Status::IOError("cannot create " + target + ": " + std::strerror(err));
  }
  BL_RETURN_IF_ERROR(staging::SyncDir(log_dir));
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
    BL_ASSIGN_OR_RETURN(auto t, ReadParquet(staging::JoinPath(table_dir, path)));
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
