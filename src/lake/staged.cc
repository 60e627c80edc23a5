// Which staging files an apply covers and how their rows read (shared by the lake formats).
#include "lake/staged.h"

#include <dirent.h>

#include <algorithm>
#include <map>

#include "util/files.h"
#include "staging/records.h"

namespace binlake::lake {

bool StagedTable::AnyLoadAsked() const {
  return std::any_of(names.begin(), names.end(),
                     [](const std::string& n) { return staging::IsLoadFileName(n); });
}

Result<std::vector<StagedTable>> GroupStagedFiles(const ApplyOptions& options,
                                                  const std::vector<std::string>& files) {
  std::map<std::string, StagedTable> by_table;  // "<root>\0<schema>\0<table>"
  for (const auto& f : files) {
    const size_t s3 = f.rfind('/');
    const size_t s2 = s3 == std::string::npos || s3 == 0 ? std::string::npos : f.rfind('/', s3 - 1);
    const size_t s1 = s2 == std::string::npos || s2 == 0 ? std::string::npos : f.rfind('/', s2 - 1);
    if (s2 == std::string::npos || !f.ends_with(".csv")) {
      return Status::InvalidArgument(f +
                                     " is not a staging file <staging>/<schema>/<table>/NAME.csv");
    }
    StagedTable t;
    t.root = options.staging;
    if (t.root.empty()) t.root = s1 == std::string::npos ? "." : f.substr(0, s1);
    const size_t schema_at = s1 == std::string::npos ? 0 : s1 + 1;
    t.schema = f.substr(schema_at, s2 - schema_at);
    t.table = f.substr(s2 + 1, s3 - s2 - 1);
    auto [it, fresh] = by_table.try_emplace(t.root + '\0' + t.schema + '\0' + t.table, t);
    it->second.names.insert(f.substr(s3 + 1));
  }
  std::vector<StagedTable> out;
  out.reserve(by_table.size());
  for (auto& [id, t] : by_table) out.push_back(std::move(t));
  return out;
}

std::vector<std::string> ListStagedCsv(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n[0] != '.' && n.ends_with(".csv")) names.push_back(n);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<StagedLoad> StagedLoadFiles(const StagedTable& t) {
  StagedLoad l;
  const std::string dir = staging::TableDir(t.root, t.schema, t.table);
  for (const auto& n : ListStagedCsv(dir)) {
    if (!staging::IsLoadFileName(n)) continue;
    BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t.root, t.schema, t.table, n));
    l.names.push_back(n);
    l.id += m.sha256.substr(0, 16);
    l.schema_version = m.schema_version;
  }
  if (l.names.empty()) return Status::NotFound("no LOAD files in " + dir);
  return l;
}

Result<std::vector<std::pair<staging::FileManifest, std::string>>> ChangeFilesUpTo(
    const StagedTable& t) {
  std::vector<std::pair<staging::FileManifest, std::string>> cdc;
  uint64_t target = 0;
  for (const auto& n : t.names) {
    if (staging::IsLoadFileName(n)) continue;
    BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t.root, t.schema, t.table, n));
    target = std::max(target, m.sequence);
  }
  if (target == 0) return cdc;
  for (const auto& n : ListStagedCsv(staging::TableDir(t.root, t.schema, t.table))) {
    if (staging::IsLoadFileName(n)) continue;
    BL_ASSIGN_OR_RETURN(auto m, staging::ReadManifest(t.root, t.schema, t.table, n));
    if (m.sequence <= target) cdc.emplace_back(std::move(m), n);
  }
  std::sort(cdc.begin(), cdc.end(),
            [](const auto& x, const auto& y) { return x.first.sequence < y.first.sequence; });
  return cdc;
}

Status ReadStagedRows(const staging::CsvOptions& csv, size_t columns, const std::string& path,
                      bool load, std::vector<StagedRow>* rows) {
  BL_ASSIGN_OR_RETURN(auto data, ReadWholeFile(path));
  const bool has_op = !load || csv.include_op_for_full_load;
  const bool has_ts = !csv.timestamp_column.empty();
  const size_t lead = (has_op ? 1 : 0) + (has_ts ? 1 : 0);
  staging::CsvReader reader(data, csv, lead + columns);
  Cells fields;
  bool first = true;
  while (reader.Next(&fields)) {
    if (first && csv.header) {
      first = false;
      continue;
    }
    first = false;
    StagedRow r;
    if (has_op) {
      if (!fields[0] || fields[0]->size() != 1 ||
          std::string_view("IUD").find((*fields[0])[0]) == std::string_view::npos) {
        return Status::Corruption(path + ":" + std::to_string(reader.line()) +
                                  ": the Op field is not I, U or D");
      }
      r.op = (*fields[0])[0];
    }
    r.cells.assign(std::make_move_iterator(fields.begin() + static_cast<long>(lead)),
                   std::make_move_iterator(fields.end()));
    rows->push_back(std::move(r));
  }
  if (!reader.status().ok()) return reader.status().WithContext(path);
  return Status::Ok();
}

int BucketOfCells(const std::vector<int>& key, const Cells& cells, int buckets) {
  static const std::string kNull("\x01NULL");
  std::vector<std::string_view> k;
  k.reserve(key.size());
  for (int i : key) k.emplace_back(cells[i] ? std::string_view(*cells[i]) : kNull);
  return BucketOf(k, buckets);
}

}  // namespace binlake::lake
