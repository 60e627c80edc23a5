// The staging store's JSON records (schemas, manifests, checkpoint, flush intent), name/time
// formats and SHA-256: one place that knows the on-disk field names of docs/staging.md.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "staging/staging.h"
#include "util/status.h"

namespace binlake::staging {

inline constexpr char kMetaDir[] = "_binlake";

std::string FormatCommitTime(uint64_t micros);  // "yyyy-MM-dd HH:mm:ss.SSSSSS" UTC
std::string FormatNameTime(uint64_t millis);    // "yyyyMMdd-HHmmssSSS" UTC
std::string CdcFileName(uint64_t millis, uint64_t sequence);
std::string LoadFileName(uint64_t part);  // LOAD00000001.csv, hex counter
bool IsLoadFileName(std::string_view name);
std::string SchemaFileName(int version);  // 00001.json
// Binlog order of two positions (binlog file names sort, then the offset).
bool PositionAfter(const SourcePosition& a, const SourcePosition& b);

// Object keys in the staging store.
inline constexpr char kCheckpointKey[] = "_binlake/checkpoint.json";
inline constexpr char kFlushIntentKey[] = "_binlake/flush-intent.json";
std::string CsvKey(const std::string& schema, const std::string& table, const std::string& name);
std::string ManifestKey(const std::string& schema, const std::string& table,
                        const std::string& csv_name);
std::string SchemaKey(const std::string& schema, const std::string& table, int version);

// The same places as local paths under a staging folder.
std::string SchemaDir(const std::string& root, const std::string& schema, const std::string& table);
std::string ManifestDir(const std::string& root, const std::string& schema,
                        const std::string& table);
std::string TableDir(const std::string& root, const std::string& schema, const std::string& table);

std::string SchemaToJson(const TableSchema& schema, int version, const SourcePosition& since);
Result<TableSchema> SchemaFromJson(std::string_view text, const std::string& path);
std::string ManifestToJson(const FileManifest& manifest);
Result<FileManifest> ManifestFromJson(std::string_view text, const std::string& path);

struct TableVersion {
  std::string schema, table;
  int version = 0;
};
std::string CheckpointToJson(const Checkpoint& checkpoint,
                             const std::vector<TableVersion>& versions);
// `versions` gets schema_versions with the schema and table names apart.
Result<Checkpoint> CheckpointFromJson(std::string_view text, const std::string& path,
                                      std::vector<TableVersion>* versions);

// The flush in progress: enough to redo it with the same names after a crash.
struct FlushIntent {
  SourcePosition start, end;
  uint64_t first_sequence = 0;
  std::vector<std::string> files;  // "<schema>/<table>/<csv name>" in sequence order
  bool operator==(const FlushIntent&) const = default;
};
std::string FlushIntentToJson(const FlushIntent& intent);
Result<FlushIntent> FlushIntentFromJson(std::string_view text, const std::string& path);

// A local folder that must exist, as a store (the path-based readers); NotFound when missing.
Result<std::unique_ptr<store::ObjectStore>> OpenLocalFolder(const std::string& folder);

// Incremental SHA-256 of a file's bytes as they are written.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  std::string HexDigest();  // lowercase hex; ends the digest

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

}  // namespace binlake::staging
