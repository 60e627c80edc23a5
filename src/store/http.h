// A minimal HTTP/1.1 client over libcurl easy handles (internal to the S3 backend): one request at
// a time per handle, handles pooled so connections are reused. No redirects are followed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace binlake::store::http {

struct Request {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given (Host: by curl)
  std::string_view body;                                     // PUT/POST payload
  int connect_timeout_ms = 5000;
  int timeout_ms = 60000;
  std::string
      ca_file;  // https: trust these CAs (PEM) instead of the system's; peers always verified
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

// A transport failure (no HTTP answer): what happened, and whether it is a refused connection or
// unknown host (the endpoint is probably wrong) or a timeout / reset (worth retrying).
struct TransportError {
  enum class Kind { kConnect, kResolve, kTimeout, kTls, kOther };
  Kind kind = Kind::kOther;
  std::string message;  // curl's, e.g. "Failed to connect to 127.0.0.1 port 1: Connection refused"
};

class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The response (any status), or the transport error.
  bool Perform(const Request& req, Response* resp, TransportError* err);

 private:
  void* Acquire();
  void Release(void* handle);
  std::mutex mu_;
  std::vector<void*> idle_;  // CURL*
};

}  // namespace binlake::store::http
