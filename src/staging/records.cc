// JSON (nlohmann, exceptions caught here), time formats and SHA-256 of the staging store.
#include "staging/records.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "util/files.h"

namespace binlake::staging {

namespace {

using Json = nlohmann::ordered_json;

// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = static_cast<int64_t>(yoe) + era * 400 + (*month <= 2 ? 1 : 0);
}

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second;
};

Civil ToCivil(uint64_t seconds) {
  Civil c{};
  CivilFromDays(static_cast<int64_t>(seconds / 86400), &c.year, &c.month, &c.day);
  const uint64_t rem = seconds % 86400;
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>(rem / 60 % 60);
  c.second = static_cast<unsigned>(rem % 60);
  return c;
}

Json PositionToJson(const SourcePosition& p) {
  return Json{{"file", p.file}, {"pos", p.pos}, {"gtid", p.gtid}};
}

SourcePosition PositionFromJson(const Json& j) {
  SourcePosition p;
  p.file = j.at("file").get<std::string>();
  p.pos = j.at("pos").get<uint64_t>();
  p.gtid = j.at("gtid").get<std::string>();
  return p;
}

Status BadJson(const std::string& path, const std::exception& e) {
  return Status::Corruption(path + ": not a valid binlake record (" + e.what() +
                            "); restore it from a backup or rebuild the staging directory");
}

}  // namespace

std::string SourcePosition::ToString() const { return file + ":" + std::to_string(pos); }

bool TableSchema::has_primary_key() const {
  for (const ColumnSchema& c : columns) {
    if (c.pk_position >= 0) return true;
  }
  return false;
}

bool TableSchema::SameShape(const TableSchema& other) const {
  if (columns.size() != other.columns.size()) return false;
  for (size_t i = 0; i < columns.size(); ++i) {
    const ColumnSchema& a = columns[i];
    const ColumnSchema& b = other.columns[i];
    if (a.name != b.name || a.binlog_type != b.binlog_type || a.binlog_meta != b.binlog_meta ||
        a.is_unsigned != b.is_unsigned || a.pk_position != b.pk_position ||
        a.enum_values != b.enum_values) {
      return false;
    }
  }
  return true;
}

std::string FormatCommitTime(uint64_t micros) {
  const Civil c = ToCivil(micros / 1000000);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04" PRId64 "-%02u-%02u %02u:%02u:%02u.%06u", c.year, c.month,
                c.day, c.hour, c.minute, c.second, static_cast<unsigned>(micros % 1000000));
  return buf;
}

std::string FormatNameTime(uint64_t millis) {
  const Civil c = ToCivil(millis / 1000);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04" PRId64 "%02u%02u-%02u%02u%02u%03u", c.year, c.month, c.day,
                c.hour, c.minute, c.second, static_cast<unsigned>(millis % 1000));
  return buf;
}

std::string CdcFileName(uint64_t millis, uint64_t sequence) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "-%010" PRIu64 ".csv", sequence);
  return FormatNameTime(millis) + buf;
}

std::string LoadFileName(uint64_t part) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "LOAD%08" PRIX64 ".csv", part);
  return buf;
}

bool IsLoadFileName(std::string_view name) {
  if (name.size() != 16 || !name.starts_with("LOAD") || !name.ends_with(".csv")) return false;
  for (char ch : name.substr(4, 8)) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F'))) return false;
  }
  return true;
}

std::string SchemaFileName(int version) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%05d.json", version);
  return buf;
}

bool PositionAfter(const SourcePosition& a, const SourcePosition& b) {
  if (a.file != b.file) return a.file > b.file;
  return a.pos > b.pos;
}

std::string CsvKey(const std::string& schema, const std::string& table, const std::string& name) {
  return schema + "/" + table + "/" + name;
}
std::string ManifestKey(const std::string& schema, const std::string& table,
                        const std::string& csv_name) {
  return std::string(kMetaDir) + "/files/" + schema + "/" + table + "/" + csv_name + ".json";
}
std::string SchemaKey(const std::string& schema, const std::string& table, int version) {
  return std::string(kMetaDir) + "/schemas/" + schema + "/" + table + "/" + SchemaFileName(version);
}

std::string TableDir(const std::string& root, const std::string& schema, const std::string& table) {
  return root + "/" + schema + "/" + table;
}
std::string SchemaDir(const std::string& root, const std::string& schema,
                      const std::string& table) {
  return root + "/" + kMetaDir + "/schemas/" + schema + "/" + table;
}
std::string ManifestDir(const std::string& root, const std::string& schema,
                        const std::string& table) {
  return root + "/" + kMetaDir + "/files/" + schema + "/" + table;
}

std::string SchemaToJson(const TableSchema& schema, int version, const SourcePosition& since) {
  Json cols = Json::array();
  for (const ColumnSchema& c : schema.columns) {
    cols.push_back(Json{{"name", c.name},
                        {"mysql_type", c.mysql_type},
                        {"binlog_type", c.binlog_type},
                        {"binlog_meta", c.binlog_meta},
                        {"nullable", c.nullable},
                        {"unsigned", c.is_unsigned},
                        {"collation", c.collation},
                        {"enum_values", c.enum_values},
                        {"pk_position", c.pk_position}});
    if (c.default_value) cols.back()["default"] = *c.default_value;
  }
  Json j{{"schema", schema.schema},
         {"table", schema.table},
         {"version", version},
         {"since", PositionToJson(since)},
         {"columns", std::move(cols)}};
  return j.dump(2) + "\n";
}

Result<TableSchema> SchemaFromJson(std::string_view text, const std::string& path) {
  try {
    const Json j = Json::parse(text);
    TableSchema s;
    s.schema = j.at("schema").get<std::string>();
    s.table = j.at("table").get<std::string>();
    for (const Json& c : j.at("columns")) {
      ColumnSchema col;
      col.name = c.at("name").get<std::string>();
      col.mysql_type = c.at("mysql_type").get<std::string>();
      col.binlog_type = c.at("binlog_type").get<uint8_t>();
      col.binlog_meta = c.at("binlog_meta").get<uint16_t>();
      col.nullable = c.at("nullable").get<bool>();
      col.is_unsigned = c.at("unsigned").get<bool>();
      col.collation = c.at("collation").get<uint32_t>();
      col.enum_values = c.at("enum_values").get<std::vector<std::string>>();
      col.pk_position = c.at("pk_position").get<int>();
      if (auto d = c.find("default"); d != c.end()) col.default_value = d->get<std::string>();
      s.columns.push_back(std::move(col));
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return BadJson(path, e);
  }
}

std::string ManifestToJson(const FileManifest& m) {
  Json j{{"name", m.name},
         {"schema", m.schema},
         {"table", m.table},
         {"kind", m.kind},
         {"sequence", m.sequence},
         {"schema_version", m.schema_version},
         {"rows", m.rows},
         {"inserts", m.inserts},
         {"updates", m.updates},
         {"deletes", m.deletes},
         {"bytes", m.bytes},
         {"sha256", m.sha256},
         {"start", PositionToJson(m.start)},
         {"end", PositionToJson(m.end)},
         {"first_commit", m.first_commit},
         {"last_commit", m.last_commit}};
  if (m.truncate) j["truncate"] = true;
  // Only LOAD manifests name the change files they follow (change-file manifests stay as they
  // were).
  if (m.kind == "load") j["after_sequence"] = m.after_sequence;
  return j.dump(2) + "\n";
}

Result<FileManifest> ManifestFromJson(std::string_view text, const std::string& path) {
  try {
    const Json j = Json::parse(text);
    FileManifest m;
    m.name = j.at("name").get<std::string>();
    m.schema = j.at("schema").get<std::string>();
    m.table = j.at("table").get<std::string>();
    m.kind = j.at("kind").get<std::string>();
    m.sequence = j.at("sequence").get<uint64_t>();
    m.schema_version = j.at("schema_version").get<int>();
    m.rows = j.at("rows").get<uint64_t>();
    m.inserts = j.at("inserts").get<uint64_t>();
    m.updates = j.at("updates").get<uint64_t>();
    m.deletes = j.at("deletes").get<uint64_t>();
    m.bytes = j.at("bytes").get<uint64_t>();
    m.sha256 = j.at("sha256").get<std::string>();
    m.start = PositionFromJson(j.at("start"));
    m.end = PositionFromJson(j.at("end"));
    m.first_commit = j.at("first_commit").get<std::string>();
    m.last_commit = j.at("last_commit").get<std::string>();
    m.truncate = j.value("truncate", false);
    m.after_sequence = j.value("after_sequence", uint64_t{0});  // absent before re-loads existed
    return m;
  } catch (const nlohmann::json::exception& e) {
    return BadJson(path, e);
  }
}

std::string CheckpointToJson(const Checkpoint& c, const std::vector<TableVersion>& versions) {
  Json vs = Json::array();
  for (const TableVersion& v : versions) {
    vs.push_back(Json{{"schema", v.schema}, {"table", v.table}, {"version", v.version}});
  }
  Json j{{"position", PositionToJson(c.position)}, {"next_sequence", c.next_sequence},
         {"last_name_millis", c.last_name_millis}, {"full_load_done", c.full_load_done},
         {"snapshot", PositionToJson(c.snapshot)}, {"schema_versions", std::move(vs)}};
  return j.dump(2) + "\n";
}

Result<Checkpoint> CheckpointFromJson(std::string_view text, const std::string& path,
                                      std::vector<TableVersion>* versions) {
  try {
    const Json j = Json::parse(text);
    Checkpoint c;
    c.position = PositionFromJson(j.at("position"));
    c.next_sequence = j.at("next_sequence").get<uint64_t>();
    c.last_name_millis = j.at("last_name_millis").get<uint64_t>();
    c.full_load_done = j.at("full_load_done").get<bool>();
    c.snapshot = PositionFromJson(j.at("snapshot"));
    versions->clear();
    for (const Json& v : j.at("schema_versions")) {
      TableVersion tv{v.at("schema").get<std::string>(), v.at("table").get<std::string>(),
                      v.at("version").get<int>()};
      c.schema_versions[tv.schema + "." + tv.table] = tv.version;
      versions->push_back(std::move(tv));
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    return BadJson(path, e);
  }
}

std::string FlushIntentToJson(const FlushIntent& intent) {
  Json j{{"start", PositionToJson(intent.start)},
         {"end", PositionToJson(intent.end)},
         {"first_sequence", intent.first_sequence},
         {"files", intent.files}};
  return j.dump(2) + "\n";
}

Result<FlushIntent> FlushIntentFromJson(std::string_view text, const std::string& path) {
  try {
    const Json j = Json::parse(text);
    FlushIntent intent;
    intent.start = PositionFromJson(j.at("start"));
    intent.end = PositionFromJson(j.at("end"));
    intent.first_sequence = j.at("first_sequence").get<uint64_t>();
    intent.files = j.at("files").get<std::vector<std::string>>();
    return intent;
  } catch (const nlohmann::json::exception& e) {
    return BadJson(path, e);
  }
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

void Sha256::Update(std::string_view data) {
  EVP_DigestUpdate(ctx_.get(), data.data(), data.size());
}

std::string Sha256::HexDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

Result<FileManifest> ReadManifest(store::ObjectStore& store, const std::string& schema,
                                  const std::string& table, const std::string& csv_name) {
  const std::string key = ManifestKey(schema, table, csv_name);
  BL_ASSIGN_OR_RETURN(std::string text, store.Get(key));
  return ManifestFromJson(text, store.uri() + "/" + key);
}

Result<TableSchema> ReadSchema(store::ObjectStore& store, const std::string& schema,
                               const std::string& table, int version) {
  const std::string key = SchemaKey(schema, table, version);
  BL_ASSIGN_OR_RETURN(std::string text, store.Get(key));
  return SchemaFromJson(text, store.uri() + "/" + key);
}

Result<std::unique_ptr<store::ObjectStore>> OpenLocalFolder(const std::string& folder) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(folder, ec);
  if (ec || !std::filesystem::is_directory(abs, ec)) {
    return Status::NotFound(folder + " is not a folder; point at the staging folder");
  }
  return store::OpenStore(abs.lexically_normal().string());
}

Result<FileManifest> ReadManifest(const std::string& root, const std::string& schema,
                                  const std::string& table, const std::string& csv_name) {
  BL_ASSIGN_OR_RETURN(auto store, OpenLocalFolder(root));
  return ReadManifest(*store, schema, table, csv_name);
}

Result<TableSchema> ReadSchema(const std::string& root, const std::string& schema,
                               const std::string& table, int version) {
  BL_ASSIGN_OR_RETURN(auto store, OpenLocalFolder(root));
  return ReadSchema(*store, schema, table, version);
}

}  // namespace binlake::staging
