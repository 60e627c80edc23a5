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

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Where it is, for messages: "/srv/staging", "s3://bucket/prefix". Never holds a secret.
  virtual std::string uri() const = 0;
  // Whether kCreateIfAbsent is atomic against other writers on this store.
  virtual bool SupportsCreateIfAbsent() const = 0;

  virtual Status Put(std::string_view key, std::string_view data,
                     PutMode mode = PutMode::kOverwrite) = 0;
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

// The store a URI names; a local folder is created when missing.
Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri);

}  // namespace binlake::store
