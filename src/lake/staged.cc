// Which staging files an apply covers and how their rows read (shared by the lake formats).
#include "lake/staged.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "staging/records.h"

namespace binlake::lake {

bool StagedTable::AnyLoadAsked() const {
  return std::any_of(names.begin(), names.end(),
                     [](const std::string& n) { return staging::IsLoadFileName(n); });
}

namespace {

// A local root as an absolute path (OpenStore wants one); URIs as they are.
std::string AbsoluteRoot(const std::string& root) {
  if (root.find("://") != std::string::npos || root.starts_with("/")) return root;
  std::error_code ec;
  auto abs = std::filesystem::absolute(root.empty() ? "." : root, ec);
  return ec ? root : abs.lexically_normal().string();
}

// `root` without a trailing '/', and without file:// (so "file:///s/x" and "/s/x" compare).
std::string NormalRoot(std::string root) {
  if (root.starts_with("file://")) root.erase(0, 7);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

}  // namespace

Result<std::vector<StagedTable>> GroupStagedFiles(const ApplyOptions& options,
                                                  const std::vector<std::string>& files) {
  std::map<std::string, std::shared_ptr<store::ObjectStore>> roots;
  std::map<std::string, StagedTable> by_table;  // "<root>\0<schema>\0<table>"
  const std::string given =
      options.staging.empty() ? "" : NormalRoot(AbsoluteRoot(options.staging));
  for (const auto& f : files) {
    auto bad = [&] {
      return Status::InvalidArgument(f +
                                     " is not a staging file <staging>/<schema>/<table>/NAME.csv");
    };
    if (!f.ends_with(".csv")) return bad();
    std::string root, key;
    const bool relative_key = f.find("://") == std::string::npos && !f.starts_with("/");
    if (!given.empty() && relative_key && std::count(f.begin(), f.end(), '/') == 2) {
      root = given;
      key = f;
    } else {
      const std::string full = NormalRoot(AbsoluteRoot(f));
      const size_t s3 = full.rfind('/');
      const size_t s2 =
          s3 == std::string::npos || s3 == 0 ? std::string::npos : full.rfind('/', s3 - 1);
      const size_t s1 =
          s2 == std::string::npos || s2 == 0 ? std::string::npos : full.rfind('/', s2 - 1);
      if (s1 == std::string::npos) return bad();
      root = given.empty() ? full.substr(0, s1) : given;
      if (full.compare(0, root.size(), root) != 0 || full.size() <= root.size() + 1 ||
          full[root.size()] != '/') {
        return Status::InvalidArgument(f + " is not under the staging root " + options.staging);
      }
      key = full.substr(root.size() + 1);
      if (std::count(key.begin(), key.end(), '/') != 2) return bad();
    }
    auto& store = roots[root];
    if (!store) {
      BL_ASSIGN_OR_RETURN(auto opened, store::OpenStore(root, options.stores));
      store = std::move(opened);
    }
    StagedTable t;
    t.root = store;
    const size_t a = key.find('/'), b = key.find('/', a + 1);
    t.schema = key.substr(0, a);
    t.table = key.substr(a + 1, b - a - 1);
    auto [it, fresh] = by_table.try_emplace(root + '\0' + t.schema + '\0' + t.table, t);
    it->second.names.insert(key.substr(b + 1));
  }
  std::vector<StagedTable> out;
  out.reserve(by_table.size());
  for (auto& [id, t] : by_table) out.push_back(std::move(t));
  return out;
}

Result<std::vector<std::string>> ListStagedCsv(const StagedTable& t) {
  store::ListOptions lo;
  lo.prefix = t.schema + "/" + t.table + "/";
  BL_ASSIGN_OR_RETURN(auto objects, t.root->List(lo));
  std::vector<std::string> names;
  for (const auto& o : objects) {
    std::string n = o.key.substr(lo.prefix.size());
    if (n.size() > 4 && n[0] != '.' && n.find('/') == std::string::npos && n.ends_with(".csv")) {
      names.push_back(std::move(n));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<uint64_t> SequenceOfName(std::string_view name) {
  if (staging::IsLoadFileName(name) || !name.ends_with(".csv")) return std::nullopt;
  name.remove_suffix(4);
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == name.size()) return std::nullopt;
  uint64_t v = 0;
  for (char c : name.substr(dash + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

Result<staging::FileManifest> StagedManifest(const StagedTable& t, const std::string& name) {
  auto read = staging::ReadManifest(*t.root, t.schema, t.table, name);
  if (!read.ok() && read.status().code() == StatusCode::kNotFound) {
    return Status::NotFound(read.status().message() + ": every staged CSV has a manifest (the " +
                            "capture writes it first); is " + t.Key(name) +
                            " a file the capture wrote? restore its manifest or re-capture it");
  }
  BL_ASSIGN_OR_RETURN(auto m, std::move(read));
  // A manifest copied from another file would apply the rows under the wrong identity.
  if (m.name != name || m.schema != t.schema || m.table != t.table) {
    return Status::Corruption(t.root->uri() + "/_binlake/files/" + t.Key(name) +
                              ".json describes " + m.schema + "." + m.table + " file " + m.name +
                              ", not " + t.schema + "." + t.table + " file " + name +
                              ": restore the file's own manifest (or re-capture it)");
  }
  if (auto seq = SequenceOfName(name); seq && *seq != m.sequence) {
    return Status::Corruption(t.root->uri() + "/_binlake/files/" + t.Key(name) +
                              ".json: sequence " + std::to_string(m.sequence) +
                              " but the file name says " + std::to_string(*seq) +
                              ": restore the file's own manifest (or re-capture it)");
  }
  return m;
}

Result<staging::TableSchema> StagedSchema(const StagedTable& t, int version) {
  auto s = staging::ReadSchema(*t.root, t.schema, t.table, version);
  if (!s.ok() && s.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("no schema version " + std::to_string(version) + " of " + t.schema +
                            "." + t.table + " in the staging store (" + s.status().message() +
                            "): the capture registers a table's schema before its files; "
                            "stage the table with `binlake capture` or restore _binlake/schemas");
  }
  return s;
}

Result<std::unique_ptr<staging::CsvBlockReader>> OpenStagedCsv(const StagedTable& t,
                                                               const std::string& name) {
  BL_ASSIGN_OR_RETURN(auto m, StagedManifest(t, name));
  BL_ASSIGN_OR_RETURN(auto reader, staging::CsvBlockReader::Open(*t.root, t.Key(name)));
  reader->VerifyAgainst(m.bytes, m.sha256);
  return reader;
}

Result<StagedLoad> StagedLoadFiles(const StagedTable& t) {
  StagedLoad l;
  BL_ASSIGN_OR_RETURN(auto names, ListStagedCsv(t));
  for (const auto& n : names) {
    if (!staging::IsLoadFileName(n)) continue;
    BL_ASSIGN_OR_RETURN(auto m, StagedManifest(t, n));
    l.names.push_back(n);
    l.id += m.sha256.substr(0, 16);
    l.schema_version = m.schema_version;
    l.rows += m.rows;
    l.after_sequence = std::max(l.after_sequence, m.after_sequence);
  }
  if (l.names.empty()) return Status::NotFound("no LOAD files in " + t.Dir());
  return l;
}

Result<std::optional<StagedLoad>> LoadToApply(const StagedTable& t, const LakeTableState& lake) {
  std::optional<StagedLoad> none;
  bool load_asked = false;
  uint64_t target = 0;  // the newest change file asked for
  for (const auto& n : t.names) {
    if (staging::IsLoadFileName(n)) {
      load_asked = true;
    } else if (auto seq = SequenceOfName(n)) {
      target = std::max(target, *seq);
    }
  }
  if (!load_asked) {
    // Nothing new to apply, or the table exists and no change file could follow a newer load.
    if (lake.exists && static_cast<int64_t>(target) <= lake.applied) return none;
    BL_ASSIGN_OR_RETURN(auto all, ListStagedCsv(t));
    if (std::none_of(all.begin(), all.end(),
                     [](const std::string& n) { return staging::IsLoadFileName(n); })) {
      return none;
    }
  }
  auto load = StagedLoadFiles(t);
  if (!load.ok()) {
    // LOAD files removed between the listing and the read: a load is being staged again (a
    // re-load deletes a table's LOAD files, then writes the new ones). Without them asked for,
    // the change files apply to the table as it is; else the caller retries later (the trigger
    // on its next scan) rather than giving the table up.
    if (load.status().code() == StatusCode::kNotFound) {
      if (!load_asked && lake.exists) return none;
      if (load_asked) {
        return Status::Unavailable(load.status().message() +
                                   ": they were removed after they were listed, so a new full "
                                   "load is being staged; apply again once it is");
      }
    }
    return load.status();
  }
  if (lake.exists && lake.load_id == load->id) return none;
  if (!load_asked && lake.exists && load->after_sequence >= target) return none;
  return std::optional<StagedLoad>(std::move(load).value());
}

Result<std::vector<std::pair<staging::FileManifest, std::string>>> ChangeFilesUpTo(
    const StagedTable& t, int64_t applied, int* skipped) {
  std::vector<std::pair<staging::FileManifest, std::string>> cdc;
  uint64_t target = 0;
  for (const auto& n : t.names) {
    if (staging::IsLoadFileName(n)) continue;
    BL_ASSIGN_OR_RETURN(auto m, StagedManifest(t, n));
    target = std::max(target, m.sequence);
  }
  if (target == 0) return cdc;
  BL_ASSIGN_OR_RETURN(auto names, ListStagedCsv(t));
  for (const auto& n : names) {
    if (staging::IsLoadFileName(n)) continue;
    // The name carries the sequence: files already applied are not read at all.
    const auto seq = SequenceOfName(n);
    if (seq && static_cast<int64_t>(*seq) <= applied) {
      if (skipped != nullptr && t.names.count(n) != 0) ++*skipped;
      continue;
    }
    if (seq && *seq > target) continue;
    BL_ASSIGN_OR_RETURN(auto m, StagedManifest(t, n));
    if (static_cast<int64_t>(m.sequence) <= applied) {
      if (skipped != nullptr && t.names.count(n) != 0) ++*skipped;
    } else if (m.sequence <= target) {
      cdc.emplace_back(std::move(m), n);
    }
  }
  std::sort(cdc.begin(), cdc.end(),
            [](const auto& x, const auto& y) { return x.first.sequence < y.first.sequence; });
  return cdc;
}

Status ReadStagedRows(const staging::CsvOptions& csv, size_t columns, const StagedTable& t,
                      const std::string& name, bool load, std::vector<StagedRow>* rows) {
  const std::string path = t.Where(name);
  BL_ASSIGN_OR_RETURN(auto m, StagedManifest(t, name));
  BL_ASSIGN_OR_RETURN(auto data, t.root->Get(t.Key(name)));
  {
    staging::Sha256 hash;
    hash.Update(data);
    const std::string sha = hash.HexDigest();
    if (data.size() != m.bytes || sha != m.sha256) {
      return Status::Corruption(path + ": " + std::to_string(data.size()) + " bytes, sha256 " +
                                sha.substr(0, 16) + "..., but its manifest says " +
                                std::to_string(m.bytes) + " bytes, sha256 " +
                                m.sha256.substr(0, 16) +
                                "...: the file is partial or altered; restore it (or re-capture "
                                "it) before applying");
    }
  }
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
                                  ": the Op field is not I, U or D; the file is damaged: restore "
                                  "it or re-capture the table");
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
