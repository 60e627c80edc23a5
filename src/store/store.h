// ObjectStore: the one interface staging and the lake will read and write through, whatever holds
// the bytes (a local folder or an S3 bucket). Keys are S3-style: '/'-separated, relative.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace binlake::store {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ms = 0;  // last modification, milliseconds since the epoch
};

enum class PutMode {
  kOverwrite,       // replaces atomically: readers see the old or the new bytes, never a mix
  kCreateIfAbsent,  // AlreadyExists when the key exists (S3: If-None-Match: *); never overwrites
};

struct ListOptions {
  std::string prefix;       // only keys that start with it (a plain string prefix, as in S3)
  std::string start_after;  // only keys after it, in byte order
  size_t max_keys = 0;      // 0: all
};

// A streaming read of one object.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // Up to `n` bytes into `buf`; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  virtual uint64_t size() const = 0;
};

// A streaming write of one object: nothing is visible until Close() succeeds, and then the whole
// object at once (a local temporary file renamed into place; an S3 single PUT or multipart upload).
// Destroying it without Close abandons it (a multipart upload is aborted).
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Write(std::string_view data) = 0;
  // kCreateIfAbsent: AlreadyExists when another writer created the key first.
  virtual Status Close() = 0;
  virtual uint64_t bytes_written() const = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Where it is, for messages: "/srv/staging", "s3://bucket/prefix". Never holds a secret.
  virtual std::string uri() const = 0;
  // Whether kCreateIfAbsent is atomic against other writers on this store.
  virtual bool SupportsCreateIfAbsent() const = 0;

  virtual Status Put(std::string_view key, std::string_view data,
                     PutMode mode = PutMode::kOverwrite) = 0;
  // A streaming Put, for objects too big to hold in memory (Parquet files, full-load CSVs).
  virtual Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key,
                                                       PutMode mode = PutMode::kOverwrite) = 0;
  // Puts the bytes of a local file (left in place, and not to be changed afterwards: the local
  // backend may hard-link it instead of copying).
  virtual Status PutFile(std::string_view key, const std::string& local_path,
                         PutMode mode = PutMode::kOverwrite);
  // The local file that holds the key's bytes when the store is a local folder (readers may use
  // it directly, e.g. Arrow's file reader); "" for remote stores.
  virtual std::string LocalPath(std::string_view key) const {
    (void)key;
    return "";
  }
  virtual Result<std::string> Get(std::string_view key) = 0;  // NotFound when absent
  // [offset, offset + length) clipped to the object; InvalidArgument when offset > size.
  virtual Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) = 0;
  virtual Result<std::unique_ptr<ObjectReader>> Open(std::string_view key) = 0;
  // Keys in byte order, as ListObjectsV2 returns them.
  virtual Result<std::vector<ObjectInfo>> List(const ListOptions& options) = 0;
  virtual Status Delete(std::string_view key) = 0;            // ok when absent
  virtual Result<ObjectInfo> Stat(std::string_view key) = 0;  // NotFound when absent
};

// What a store URI names: `/path` or `file:///path` (a local folder), `s3://bucket[/prefix]`.
struct StoreUri {
  enum class Kind { kLocal, kS3 };
  Kind kind = Kind::kLocal;
  std::string path;    // kLocal: absolute folder
  std::string bucket;  // kS3
  std::string prefix;  // kS3: "" or ends with '/'
};
Result<StoreUri> ParseStoreUri(std::string_view uri);

// A key is non-empty, relative, without empty, "." or ".." segments, NUL or a trailing '/'.
Status ValidateKey(std::string_view key);

// How to reach S3 (the [s3] config section; docs/s3.md). Credentials are never here: they come
// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN) or the shared credentials
// file (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) under `profile`.
struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9400"; "" : AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL,
                         // else https://s3.<region>.amazonaws.com
  std::string region;    // "" : AWS_REGION / AWS_DEFAULT_REGION / the profile's, else us-east-1
  std::string profile;   // "" : AWS_PROFILE, else "default"
  enum class Addressing { kAuto, kPath, kVirtualHost };
  Addressing addressing = Addressing::kAuto;  // auto: path style with a custom endpoint
  // Writes that must not overwrite (Delta commits) use If-None-Match: *. A store without
  // conditional writes is refused unless this is set: then only one writer may run per table.
  bool single_writer = false;
  int max_retries = 8;                      // on 5xx, timeouts, throttling; backoff with jitter
  uint64_t part_bytes = uint64_t{8} << 20;  // multipart part size (and the single-PUT limit)
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 60000;
  // https endpoints: the CA certificates (PEM) to verify the server with; "" : AWS_CA_BUNDLE,
  // else the system's. The certificate and host name are always verified.
  std::string ca_file;
};

struct StoreOptions {
  S3Options s3;
};

// The store a URI names; a local folder is created when missing, an S3 bucket is checked to be
// reachable (s3_store.h). Test hook: BINLAKE_STORE_FAULTS="rate=0.05,seed=7" wraps the store in a
// fault injector (fault_store.h, docs/s3.md).
Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri,
                                               const StoreOptions& options = {});

}  // namespace binlake::store

namespace binlake::store {

// A view of `base` under `prefix` ("schema/table/"): keys are relative to it, and List returns
// them so. uri() is the base's URI joined with the prefix; LocalPath maps through.
std::unique_ptr<ObjectStore> SubStore(std::shared_ptr<ObjectStore> base, std::string prefix);

}  // namespace binlake::store
