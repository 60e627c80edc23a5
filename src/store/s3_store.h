// The S3 backend of ObjectStore: libcurl + our own SigV4 (docs/s3.md). Keys live under the URI's
// prefix (s3://bucket/a/b: key k is object a/b/k); List returns them relative to it.
//
// Retries: 5xx, 429/503 SlowDown, 400 RequestTimeout, timeouts and connection errors are retried
// up to S3Options::max_retries times with exponential backoff and full jitter; other 4xx never.
// A retried conditional write (kCreateIfAbsent) whose first attempt reached the store but whose
// answer was lost gets 412 and reports AlreadyExists, though the object holds our bytes: callers
// must treat AlreadyExists as "someone committed this key" and read it back if they need to know
// who (a Delta commit compares the committed log entry).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/aws_config.h"
#include "store/store.h"

namespace binlake::store {

// Opens the bucket and checks it is reachable with these credentials (one ListObjectsV2 of one
// key): a wrong endpoint, bucket, region or secret fails here, with the fix in the message.
// `list_page_keys` (1..1000) is the ListObjectsV2 page size; tests make it small.
Result<std::unique_ptr<ObjectStore>> OpenS3Store(StoreUri uri, const S3Options& options,
                                                 const EnvLookup& env = ProcessEnv(),
                                                 int list_page_keys = 1000);

// Internals, exposed for unit tests.
namespace s3 {

// The error an S3 answer (status, headers, XML body) means for an operation, one line naming the
// store URI and the fix. `what` is e.g. "GET a/b.csv".
Status ErrorStatus(const std::string& uri, std::string_view what, long http_status,
                   const std::map<std::string, std::string>& headers, std::string_view body,
                   const AwsConfig& cfg);

struct ListPage {
  std::vector<ObjectInfo> objects;  // full keys (with the store prefix)
  bool truncated = false;
  std::string next_token;
};
Result<ListPage> ParseListObjectsV2(std::string_view xml);

// The text of the first <tag>...</tag> in `xml`, entities decoded; "" when absent.
std::string XmlValue(std::string_view xml, std::string_view tag);
std::string XmlUnescape(std::string_view s);
std::string XmlEscape(std::string_view s);

}  // namespace s3
}  // namespace binlake::store
