// Bucket notifications for the trigger: an HTTP listener for S3-style object events (AWS S3 direct,
// via SNS or EventBridge; MinIO; SeaweedFS filer webhooks). Events are hints only: the trigger
// lists the store to decide, so a lost, duplicated or reordered event does no harm.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace binlake::trigger {

// One object created or overwritten in a bucket.
struct ObjectEvent {
  std::string bucket;
  std::string key;  // the object key, fully decoded (never URL-encoded)
  std::string
      event_name;     // as the sender names it: "ObjectCreated:Put", "Object Created", "create"
  uint64_t size = 0;  // 0 when the sender does not say
};

// The object-creation events in one notification body. Accepted: the S3 event message
// ({"Records":[...]}, also MinIO's), the s3:TestEvent, an SNS envelope around either, an
// EventBridge "Object Created" event and a SeaweedFS filer webhook event. Other event kinds
// (removals, restores, tagging) give no events. Corruption or NotSupported for anything else.
// `note`, when given, receives a line an operator must act on (an SNS subscription to confirm).
Result<std::vector<ObjectEvent>> ParseNotification(std::string_view body,
                                                   std::string* note = nullptr);

struct NotificationServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                        // 0: an ephemeral port, see NotificationServer::port()
  size_t max_body_bytes = size_t{8} << 20;  // larger bodies get 413
  std::string bearer_token;                 // if set, requests need "Authorization: Bearer <it>"
  int threads = 8;  // connections served at once (an open keep-alive connection holds one)
};

struct NotificationStats {
  std::atomic<uint64_t> requests{0};  // POSTs answered 200
  std::atomic<uint64_t> events{0};    // ObjectEvents passed to the callback
  std::atomic<uint64_t> rejected{0};  // answered 4xx
};

// Both are called on the server's threads, possibly at the same time; on_event should only
// enqueue.
using ObjectEventCallback = std::function<void(const ObjectEvent& event)>;
using NotifyLog = std::function<void(const std::string& line)>;

// Listens for notification POSTs on any path; 200 once the events are handed to the callback,
// 400 for a body that does not parse, 401 for a missing or wrong token, 405 for other methods (200
// for a HEAD liveness probe), 413 for a body over the limit. Logs never carry a token or a request
// body.
class NotificationServer {
 public:
  static Result<std::unique_ptr<NotificationServer>> Start(NotificationServerOptions options,
                                                           ObjectEventCallback on_event,
                                                           NotifyLog log);
  ~NotificationServer();  // Stop()
  NotificationServer(const NotificationServer&) = delete;
  NotificationServer& operator=(const NotificationServer&) = delete;

  uint16_t port() const;  // the bound port
  const NotificationStats& stats() const;
  // Stops listening and joins the server threads; idempotent.
  void Stop();

 private:
  class Impl;
  explicit NotificationServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace binlake::trigger
