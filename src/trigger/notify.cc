// Bucket-notification parsing and the HTTP listener (cpp-httplib). Parsing never trusts the body:
// every field is type-checked, and errors name the field, never echo the bytes.
#include "trigger/notify.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

namespace binlake::trigger {
namespace {

using json = nlohmann::json;

// The S3 event message form-encodes keys (application/x-www-form-urlencoded: "red flower.jpg"
// arrives as "red+flower.jpg").
Result<std::string> FormUrlDecode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 2 < in.size() ? hex(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::Corruption("bad %-escape at byte " + std::to_string(i) + " of the key");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The member `name` of `obj` when it is an object, else nullptr.
const json* Member(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  return it == obj.end() ? nullptr : &*it;
}

const json* Path(const json& obj, std::initializer_list<const char*> names) {
  const json* cur = &obj;
  for (const char* name : names) {
    cur = Member(*cur, name);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

// A string member, or "" when absent or not a string.
std::string StringOr(const json& obj, const char* name) {
  const json* v = Member(obj, name);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

Result<std::string> RequiredString(const json& obj, std::initializer_list<const char*> path,
                                   std::string_view where) {
  const json* v = Path(obj, path);
  std::string name;
  for (const char* p : path) name += (name.empty() ? "" : ".") + std::string(p);
  if (v == nullptr) return Status::Corruption(std::string(where) + ": no " + name);
  if (!v->is_string())
    return Status::Corruption(std::string(where) + ": " + name + " not a string");
  return v->get<std::string>();
}

// An absent size is 0; a present one must be a non-negative integer.
Result<uint64_t> OptionalSize(const json& obj, std::initializer_list<const char*> path,
                              std::string_view where) {
  const json* v = Path(obj, path);
  if (v == nullptr || v->is_null()) return uint64_t{0};
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_integer() && v->get<int64_t>() >= 0) return v->get<uint64_t>();
  return Status::Corruption(std::string(where) + ": object size not a non-negative integer");
}

bool IsObjectCreated(std::string_view event_name) {
  // AWS: "ObjectCreated:Put"; MinIO: "s3:ObjectCreated:Put".
  if (event_name.starts_with("s3:")) event_name.remove_prefix(3);
  return event_name.starts_with("ObjectCreated:");
}

// {"Records":[{"eventVersion":"2.1","eventName":"ObjectCreated:Put","s3":{...}}, ...]}
Status ParseRecords(const json& records, std::vector<ObjectEvent>* out) {
  if (!records.is_array()) return Status::Corruption("Records is not an array");
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    std::string where = "Records[" + std::to_string(i) + "]";
    if (!r.is_object()) return Status::Corruption(where + " is not an object");
    // AWS: compare the major version for equality; minor versions only add fields.
    std::string version = StringOr(r, "eventVersion");
    if (!version.empty() && version.substr(0, version.find('.')) != "2") {
      return Status::NotSupported(where + ": eventVersion is not 2.x (the only one understood)");
    }
    BL_ASSIGN_OR_RETURN(std::string event_name, RequiredString(r, {"eventName"}, where));
    BL_ASSIGN_OR_RETURN(std::string bucket, RequiredString(r, {"s3", "bucket", "name"}, where));
    BL_ASSIGN_OR_RETURN(std::string raw_key, RequiredString(r, {"s3", "object", "key"}, where));
    BL_ASSIGN_OR_RETURN(uint64_t size, OptionalSize(r, {"s3", "object", "size"}, where));
    auto key = FormUrlDecode(raw_key);
    if (!key.ok()) return key.status().WithContext(where);
    if (!IsObjectCreated(event_name)) continue;
    out->push_back(
        ObjectEvent{std::move(bucket), std::move(key).value(), std::move(event_name), size});
  }
  return Status::Ok();
}

// {"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":..},"object":{..}}}
// EventBridge keys are not URL-encoded (unlike the S3 event message).
Status ParseEventBridge(const json& doc, std::vector<ObjectEvent>* out) {
  std::string type = StringOr(doc, "detail-type");
  if (type != "Object Created") return Status::Ok();
  BL_ASSIGN_OR_RETURN(std::string bucket,
                      RequiredString(doc, {"detail", "bucket", "name"}, "EventBridge event"));
  BL_ASSIGN_OR_RETURN(std::string key,
                      RequiredString(doc, {"detail", "object", "key"}, "EventBridge event"));
  BL_ASSIGN_OR_RETURN(uint64_t size,
                      OptionalSize(doc, {"detail", "object", "size"}, "EventBridge event"));
  out->push_back(ObjectEvent{std::move(bucket), std::move(key), std::move(type), size});
  return Status::Ok();
}

// SeaweedFS filer webhook (weed/notification/webhook/http.go): {"key":"/buckets/b/k",
// "event_type":"create|update|delete|rename","message":<filer_pb.EventNotification as JSON>}.
constexpr std::string_view kSeaweedBuckets = "/buckets/";
// Multipart parts live under /buckets/<b>/.uploads/ until completed: not objects.
constexpr std::string_view kSeaweedUploads = ".uploads/";

Status ParseSeaweedFiler(const json& doc, std::vector<ObjectEvent>* out) {
  constexpr std::string_view kWhere = "SeaweedFS event";
  BL_ASSIGN_OR_RETURN(std::string event_type, RequiredString(doc, {"event_type"}, kWhere));
  BL_ASSIGN_OR_RETURN(std::string path, RequiredString(doc, {"key"}, kWhere));
  const json* message = Member(doc, "message");
  if (message == nullptr || !message->is_object()) {
    return Status::Corruption("SeaweedFS event: message is not an object");
  }
  if (event_type != "create" && event_type != "update" && event_type != "rename") {
    return Status::Ok();  // delete
  }
  const json* entry = Member(*message, "new_entry");
  if (entry == nullptr || !entry->is_object()) return Status::Ok();
  const json* is_dir = Member(*entry, "is_directory");
  if (is_dir != nullptr && is_dir->is_boolean() && is_dir->get<bool>()) return Status::Ok();
  // The event's key is the old path; a rename's new path is new_parent_path + new_entry.name.
  std::string parent = StringOr(*message, "new_parent_path");
  std::string name = StringOr(*entry, "name");
  if (!parent.empty() && !name.empty()) {
    path = parent + (parent.ends_with('/') ? "" : "/") + name;
  }
  if (!path.starts_with(kSeaweedBuckets)) return Status::Ok();
  std::string_view rest = std::string_view(path).substr(kSeaweedBuckets.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size()) {
    return Status::Ok();  // the bucket folder itself
  }
  std::string_view bucket = rest.substr(0, slash);
  std::string_view key = rest.substr(slash + 1);
  // /buckets/.system/ holds SeaweedFS's own bookkeeping (bucket owners); no S3 bucket starts so.
  if (bucket.starts_with('.') || key.starts_with(kSeaweedUploads)) return Status::Ok();
  BL_ASSIGN_OR_RETURN(uint64_t size, OptionalSize(*entry, {"attributes", "file_size"}, kWhere));
  out->push_back(ObjectEvent{std::string(bucket), std::string(key), event_type, size});
  return Status::Ok();
}

Result<json> ParseJson(std::string_view body, std::string_view what) {
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    return Status::Corruption(std::string(what) + " is not JSON (byte " + std::to_string(e.byte) +
                              ")");
  }
}

Status ParseDocument(const json& doc, bool in_envelope, std::vector<ObjectEvent>* out,
                     std::string* note) {
  if (!doc.is_object()) return Status::Corruption("notification is not a JSON object");
  if (const json* records = Member(doc, "Records")) return ParseRecords(*records, out);
  if (StringOr(doc, "Event") == "s3:TestEvent") return Status::Ok();
  if (StringOr(doc, "source") == "aws.s3" && Member(doc, "detail-type") != nullptr) {
    return ParseEventBridge(doc, out);
  }
  if (Member(doc, "event_type") != nullptr && Member(doc, "message") != nullptr) {
    return ParseSeaweedFiler(doc, out);
  }
  std::string sns_type = StringOr(doc, "Type");
  if (!in_envelope && !sns_type.empty()) {
    if (sns_type == "Notification") {
      BL_ASSIGN_OR_RETURN(std::string message, RequiredString(doc, {"Message"}, "SNS message"));
      BL_ASSIGN_OR_RETURN(json inner, ParseJson(message, "the SNS Message"));
      return ParseDocument(inner, true, out, note).WithContext("SNS Message");
    }
    if (sns_type == "SubscriptionConfirmation" || sns_type == "UnsubscribeConfirmation") {
      if (note != nullptr) {
        *note = "SNS " + sns_type + " for topic " + StringOr(doc, "TopicArn") +
                (sns_type == "SubscriptionConfirmation"
                     ? ": confirm the subscription by opening " + StringOr(doc, "SubscribeURL")
                     : ": notifications from this topic will stop");
      }
      return Status::Ok();
    }
  }
  return Status::NotSupported(
      "not a known notification (expected S3 Records, an s3:TestEvent, an SNS envelope, an "
      "EventBridge aws.s3 event or a SeaweedFS filer event)");
}

}  // namespace

Result<std::vector<ObjectEvent>> ParseNotification(std::string_view body, std::string* note) {
  BL_ASSIGN_OR_RETURN(json doc, ParseJson(body, "notification"));
  std::vector<ObjectEvent> events;
  BL_RETURN_IF_ERROR(ParseDocument(doc, false, &events, note));
  return events;
}

class NotificationServer::Impl {
 public:
  Impl(NotificationServerOptions options, ObjectEventCallback on_event, NotifyLog log)
      : options_(std::move(options)), on_event_(std::move(on_event)), log_(std::move(log)) {}

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  const NotificationStats& stats() const { return stats_; }

 private:
  void Log(const std::string& line) const {
    if (log_) log_("notify: " + line);
  }
  void Reject(const httplib::Request& req, httplib::Response& res, int status,
              const std::string& why);
  bool Authorized(const httplib::Request& req) const;
  void HandlePost(const httplib::Request& req, httplib::Response& res);

  NotificationServerOptions options_;
  ObjectEventCallback on_event_;
  NotifyLog log_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> listen_done_{false};
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  NotificationStats stats_;
};

void NotificationServer::Impl::Reject(const httplib::Request& req, httplib::Response& res,
                                      int status, const std::string& why) {
  stats_.rejected.fetch_add(1, std::memory_order_relaxed);
  Log(std::to_string(status) + " " + req.method + " from " + req.remote_addr + ": " + why);
  res.status = status;
  res.set_content(why + "\n", "text/plain");
}

// Compares digests of the presented and the expected token with CRYPTO_memcmp: the time taken says
// nothing about how much of the token matched, or its length.
bool NotificationServer::Impl::Authorized(const httplib::Request& req) const {
  if (options_.bearer_token.empty()) return true;
  std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  auto digest = [](std::string_view s, unsigned char* md) {
    unsigned int len = 0;
    return EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr) == 1 && len == 32;
  };
  unsigned char got[EVP_MAX_MD_SIZE];
  unsigned char want[EVP_MAX_MD_SIZE];
  if (!digest(std::string_view(header).substr(kScheme.size()), got) ||
      !digest(options_.bearer_token, want)) {
    return false;
  }
  return CRYPTO_memcmp(got, want, 32) == 0;
}

void NotificationServer::Impl::HandlePost(const httplib::Request& req, httplib::Response& res) {
  std::string note;
  auto events = ParseNotification(req.body, &note);
  if (!events.ok()) {
    Reject(req, res, 400, events.status().message());
    return;
  }
  if (!note.empty()) Log(note);
  for (const ObjectEvent& e : *events) {
    if (on_event_) on_event_(e);
  }
  stats_.requests.fetch_add(1, std::memory_order_relaxed);
  stats_.events.fetch_add(events->size(), std::memory_order_relaxed);
  res.status = 200;
  res.set_content("{\"events\":" + std::to_string(events->size()) + "}\n", "application/json");
}

Status NotificationServer::Impl::Start() {
  if (options_.max_body_bytes == 0) return Status::InvalidArgument("notify: max_body_bytes is 0");
  int threads = options_.threads < 1 ? 1 : options_.threads;
  server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_.set_payload_max_length(options_.max_body_bytes);
  // httplib's default also sets SO_REUSEPORT, which would let another process bind the same port
  // and take a share of the notifications.
  server_.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  // Each connection holds a thread while it is open: short timeouts bound how long an idle or slow
  // client keeps one (Stop does not wait for them).
  server_.set_keep_alive_timeout(2);
  server_.set_keep_alive_max_count(100);
  server_.set_read_timeout(5, 0);
  server_.set_write_timeout(5, 0);
  // Method and token are checked before the body is read.
  server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Liveness probes (MinIO's webhook target sends HEAD to the endpoint): 200, nothing logged.
    if (req.method == "HEAD") {
      res.status = 200;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "POST") {
      res.set_header("Allow", "POST");
      Reject(req, res, 405, "only POST is accepted");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!Authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      Reject(req, res, 401, "missing or wrong bearer token");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_.Post(
      ".*", [this](const httplib::Request& req, httplib::Response& res) { HandlePost(req, res); });
  // Statuses httplib sets itself (413, 400 for a bad request line); ours already have a body.
  server_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string why = res.status == 413
                              ? "body over " + std::to_string(options_.max_body_bytes) + " bytes"
                              : "bad request";
        Reject(req, res, res.status, why);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, const std::exception_ptr&) {
        Reject(req, res, 500, "internal error");
      });

  int port = -1;
  if (options_.port == 0) {
    port = server_.bind_to_any_port(options_.host);
  } else if (server_.bind_to_port(options_.host, options_.port)) {
    port = options_.port;
  }
  if (port <= 0) {
    return Status::IOError("notify: cannot listen on " + options_.host + ":" +
                           std::to_string(options_.port));
  }
  port_ = static_cast<uint16_t>(port);
  // httplib listens with a backlog of 5: a burst of senders (SeaweedFS posts from 5 workers) would
  // overflow it and wait a second for a SYN retransmit. Linux takes a new backlog on a second
  // listen().
  if (listen_fd_ >= 0) ::listen(listen_fd_, SOMAXCONN);
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    listen_done_ = true;
  });
  // stop() only works on a running server: wait until it runs (or failed).
  while (!server_.is_running() && !listen_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (listen_done_) {
    thread_.join();
    return Status::IOError("notify: the listener on " + options_.host + ":" +
                           std::to_string(port_) + " stopped at once");
  }
  Log("listening on http://" + options_.host + ":" + std::to_string(port_) +
      (options_.bearer_token.empty() ? "" : " (bearer token required)"));
  return Status::Ok();
}

void NotificationServer::Impl::Stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

NotificationServer::NotificationServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NotificationServer::~NotificationServer() { Stop(); }

Result<std::unique_ptr<NotificationServer>> NotificationServer::Start(
    NotificationServerOptions options, ObjectEventCallback on_event, NotifyLog log) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(on_event), std::move(log));
  BL_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<NotificationServer>(new NotificationServer(std::move(impl)));
}

uint16_t NotificationServer::port() const { return impl_->port(); }

const NotificationStats& NotificationServer::stats() const { return impl_->stats(); }

void NotificationServer::Stop() { impl_->Stop(); }

}  // namespace binlake::trigger
