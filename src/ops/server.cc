// The ops HTTP server (cpp-httplib, as the trigger's notification listener): GET /metrics,
// /api/status and the dashboard, plus a thread that samples the metrics every second.
#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "ops/ops.h"

namespace binlake::ops {
namespace {

// Binds host:port once with a plain socket to name the reason of a failure (httplib only says
// false), e.g. "Address already in use".
Status CheckBindable(const std::string& host, uint16_t port, const std::string& listen) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    return Status::InvalidArgument("ops: cannot resolve the host of " + listen +
                                   " ([ops] listen, docs/config.md)");
  }
  const int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0) err = errno;
    ::close(fd);
  }
  freeaddrinfo(res);
  if (err != 0) {
    return Status::IOError("ops: cannot listen on " + listen + ": " + std::strerror(err) +
                           "; change [ops] listen (or set [ops] enabled = false)");
  }
  return {};
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(Metrics* metrics) : metrics_(metrics) {}

  Status Start(const std::string& listen) {
    const size_t colon = listen.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon + 1 < listen.size()) {
      port = 0;
      for (size_t i = colon + 1; i < listen.size() && port <= 65535; i++) {
        if (listen[i] < '0' || listen[i] > '9') {
          port = -1;
          break;
        }
        port = port * 10 + (listen[i] - '0');
      }
    }
    if (port < 0 || port > 65535) {
      return Status::InvalidArgument("ops: listen address '" + listen +
                                     "' is not host:port (e.g. 127.0.0.1:7070; [ops] listen)");
    }
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    if (port != 0) BL_RETURN_IF_ERROR(CheckBindable(host, static_cast<uint16_t>(port), listen));
    // A few connections at once (a scraper and some dashboard pages with keep-alive).
    server_.new_task_queue = [] { return new httplib::ThreadPool(4); };
    server_.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.set_keep_alive_timeout(5);
    server_.set_read_timeout(5, 0);
    server_.set_write_timeout(5, 0);
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_->Prometheus(), "text/plain; version=0.0.4; charset=utf-8");
    });
    server_.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_content(metrics_->StatusJson(), "application/json");
    });
    server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(DashboardHtml(), "text/html; charset=utf-8");
    });
    const int bound =
        port == 0 ? server_.bind_to_any_port(host) : (server_.bind_to_port(host, port) ? port : -1);
    if (bound <= 0) {
      return Status::IOError("ops: cannot listen on " + listen +
                             "; change [ops] listen (or set [ops] enabled = false)");
    }
    port_ = static_cast<uint16_t>(bound);
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      listen_done_ = true;
    });
    while (!server_.is_running() && !listen_done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (listen_done_) {
      thread_.join();
      return Status::IOError("ops: the server on " + listen + " stopped at once");
    }
    metrics_->Sample();
    sampler_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        metrics_->Sample();
      }
    });
    return {};
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (sampler_.joinable()) sampler_.join();
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  uint16_t port() const { return port_; }

 private:
  Metrics* metrics_;
  httplib::Server server_;
  std::thread thread_, sampler_;
  std::atomic<bool> listen_done_{false};
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Start(const std::string& listen, Metrics* metrics) {
  auto impl = std::make_unique<Impl>(metrics);
  BL_RETURN_IF_ERROR(impl->Start(listen));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace binlake::ops
