// Bucket notifications end to end: a private SeaweedFS (scripts/s3server.sh with S3_NOTIFY_URL)
// posts its filer events to a NotificationServer; every PUT must arrive as an event with the exact
// bucket and key, and the event latency is measured.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"
#include "trigger/notify.h"

namespace binlake::trigger {
namespace {

using Clock = std::chrono::steady_clock;

const char* kBucket = "notify-itest";

int S3Port() {
  const char* p = std::getenv("BINLAKE_TEST_S3_PORT");
  return p != nullptr ? std::atoi(p) : 9460;
}

// Runs a shell command; its exit status and stdout.
int RunShell(const std::string& cmd, std::string* out = nullptr) {
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    if (out != nullptr) out->append(buf, n);
  }
  int rc = ::pclose(f);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Percent-encodes all but RFC 3986 unreserved characters and '/', as a URL path.
std::string UrlPath(const std::string& key) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// Receives events from the server's threads; waits for a key.
class EventLog {
 public:
  void Add(const ObjectEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
    first_seen_.try_emplace(e.bucket + "/" + e.key, Clock::now());
    cv_.notify_all();
  }
  // When an event for bucket/key first arrived; nullopt after the timeout.
  std::optional<Clock::time_point> WaitFor(const std::string& bucket_key,
                                           std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return first_seen_.count(bucket_key) > 0; })) {
      return std::nullopt;
    }
    return first_seen_.at(bucket_key);
  }
  std::vector<ObjectEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ObjectEvent> events_;
  std::map<std::string, Clock::time_point> first_seen_;
};

class NotifyItest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (server_) server_->Stop();
    if (s3_started_) {
      (void)RunShell(std::string(BINLAKE_SOURCE_DIR) + "/scripts/s3server.sh stop " + dir_.path() +
                     "/s3 " + std::to_string(S3Port()) + " >/dev/null 2>&1");
    }
  }

  // The keys stay out of argv: curl reads them from a 0600 config file (-K).
  void WriteCurlConfig() {
    std::ifstream in(dir_.path() + "/s3/credentials");
    std::string line, ak, sk;
    while (std::getline(in, line)) {
      auto value = [&](const std::string& name) {
        return line.rfind(name + " = ", 0) == 0 ? line.substr(name.size() + 3) : std::string();
      };
      if (ak.empty()) ak = value("aws_access_key_id");
      if (sk.empty()) sk = value("aws_secret_access_key");
    }
    ASSERT_FALSE(ak.empty() || sk.empty()) << "no keys in " << dir_.path() << "/s3/credentials";
    curl_config_ = dir_.path() + "/curl.cfg";
    std::ofstream out(curl_config_);
    out << "user = \"" << ak << ":" << sk << "\"\n"
        << "aws-sigv4 = \"aws:amz:us-east-1:s3\"\n"
        << "header = \"x-amz-content-sha256: UNSIGNED-PAYLOAD\"\n"
        << "silent\nshow-error\n";
    out.close();
    ::chmod(curl_config_.c_str(), 0600);
  }

  // PUT (a bucket when key is empty); the HTTP status.
  int Put(const std::string& key, const std::string& file = "") {
    std::string url = "http://127.0.0.1:" + std::to_string(S3Port()) + "/" + kBucket +
                      (key.empty() ? "" : "/" + UrlPath(key));
    std::string cmd = "curl -K '" + curl_config_ + "' -X PUT -o /dev/null -w '%{http_code}' " +
                      (file.empty() ? "" : "--data-binary @'" + file + "' ") + "'" + url + "'";
    std::string code;
    if (RunShell(cmd, &code) != 0) return -1;
    return std::atoi(code.c_str());
  }

  testing::TempDir dir_;
  std::unique_ptr<NotificationServer> server_;
  bool s3_started_ = false;
  std::string curl_config_;
};

TEST_F(NotifyItest, SeaweedFsPutsArriveAsEvents) {
  EventLog received;
  std::mutex log_mu;
  std::vector<std::string> log;
  std::string token = "itest-" + std::to_string(std::random_device{}());
  NotificationServerOptions options;
  options.bearer_token = token;
  auto server = NotificationServer::Start(
      options, [&](const ObjectEvent& e) { received.Add(e); },
      [&](const std::string& line) {
        std::lock_guard<std::mutex> lock(log_mu);
        log.push_back(line);
      });
  ASSERT_OK(server);
  server_ = std::move(server).value();

  // s3server.sh's health check would take another server on the port for ours.
  ASSERT_NE(RunShell("curl -s -o /dev/null http://127.0.0.1:" + std::to_string(S3Port()) + "/"), 0)
      << "something already listens on 127.0.0.1:" << S3Port()
      << " (set BINLAKE_TEST_S3_PORT to move this test's SeaweedFS, which uses PORT..PORT+7)";

  // The URL and the token reach s3server.sh through its environment, not argv.
  std::string url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/seaweed";
  ::setenv("S3_NOTIFY_URL", url.c_str(), 1);
  ::setenv("S3_NOTIFY_TOKEN", token.c_str(), 1);
  std::string out;
  int rc = RunShell(std::string(BINLAKE_SOURCE_DIR) + "/scripts/s3server.sh start " + dir_.path() +
                        "/s3 " + std::to_string(S3Port()) + " 2>&1",
                    &out);
  ::unsetenv("S3_NOTIFY_URL");
  ::unsetenv("S3_NOTIFY_TOKEN");
  s3_started_ = true;
  ASSERT_EQ(rc, 0) << out;
  WriteCurlConfig();
  if (HasFatalFailure()) return;

  std::string file = dir_.path() + "/body.csv";
  std::ofstream(file) << "1,hello\n";
  ASSERT_EQ(Put(""), 200) << "create bucket";

  // Exact keys: nested, a space, '%' and '+', UTF-8.
  std::vector<std::string> keys = {"s/t/LOAD00000001.csv", "dir/a b%c+d.csv",
                                   "\xC3\xBC/k=1 (2).csv"};
  for (const std::string& key : keys) {
    ASSERT_EQ(Put(key, file), 200) << key;
    // The first PUT into a bucket also creates its volumes: allow for that.
    EXPECT_TRUE(received.WaitFor(std::string(kBucket) + "/" + key, std::chrono::seconds(30)))
        << "no event for " << key;
  }

  // Latency: sequential PUTs, each waited for. SeaweedFS posts at the filer commit, before the
  // gateway answers the PUT, so the event usually beats curl's exit (a negative "after done").
  constexpr int kPuts = 50;
  std::vector<double> after_done_ms, after_start_ms, put_ms;
  for (int i = 0; i < kPuts; ++i) {
    std::string key = "lat/" + std::to_string(1000 + i) + ".csv";
    keys.push_back(key);
    auto start = Clock::now();
    ASSERT_EQ(Put(key, file), 200) << key;
    auto done = Clock::now();
    auto seen = received.WaitFor(std::string(kBucket) + "/" + key, std::chrono::seconds(10));
    ASSERT_TRUE(seen) << "no event for " << key << " within 10 s";
    auto ms = [](Clock::duration d) {
      return std::chrono::duration<double, std::milli>(d).count();
    };
    after_done_ms.push_back(ms(*seen - done));
    after_start_ms.push_back(ms(*seen - start));
    put_ms.push_back(ms(done - start));
  }
  auto p50 = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto max = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  printf(
      "notify latency over %d PUTs: PUT done -> event p50 %.1f ms, max %.1f ms; PUT start -> "
      "event p50 %.1f ms, max %.1f ms; the PUT (curl) itself p50 %.1f ms\n",
      kPuts, p50(after_done_ms), max(after_done_ms), p50(after_start_ms), max(after_start_ms),
      p50(put_ms));
  RecordProperty("after_done_p50_ms", std::to_string(p50(after_done_ms)));
  RecordProperty("after_start_p50_ms", std::to_string(p50(after_start_ms)));
  RecordProperty("after_start_max_ms", std::to_string(max(after_start_ms)));

  // Every event names one of our objects in our bucket: no directories, no SeaweedFS bookkeeping.
  std::set<std::string> expected(keys.begin(), keys.end());
  std::set<std::string> seen_keys;
  for (const ObjectEvent& e : received.events()) {
    EXPECT_EQ(e.bucket, kBucket) << e.key;
    EXPECT_EQ(expected.count(e.key), 1u) << "unexpected event for key '" << e.key << "'";
    EXPECT_EQ(e.size, 8u) << e.key;
    seen_keys.insert(e.key);
  }
  EXPECT_EQ(seen_keys, expected);
  EXPECT_EQ(server_->stats().rejected, 0u);

  server_->Stop();
  std::lock_guard<std::mutex> lock(log_mu);
  for (const std::string& line : log) EXPECT_EQ(line.find(token), std::string::npos) << line;
}

}  // namespace
}  // namespace binlake::trigger
