#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "ops/ops.h"
#include "testing/status_matchers.h"

namespace binlake::ops {
namespace {

// The value of the sample `name{labels}` in a Prometheus text; -12345 when absent.
double Value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -12345;
}

TEST(MetricsTest, CountsByTableAndOp) {
  Metrics m;
  m.SetState("shop.orders", TableState::kReplicating);
  m.Transaction({{"shop.orders", 3, 2, 1}, {"shop.items", 1, 0, 0}});
  m.Transaction({{"shop.orders", 1, 0, 0}});
  m.Ddl("");
  m.Ddl("shop.items");
  const std::string p = m.Prometheus();
  EXPECT_EQ(Value(p, R"(binlake_rows_total{table="shop.orders",op="insert"})"), 4);
  EXPECT_EQ(Value(p, R"(binlake_rows_total{table="shop.orders",op="update"})"), 2);
  EXPECT_EQ(Value(p, R"(binlake_rows_total{table="shop.orders",op="delete"})"), 1);
  EXPECT_EQ(Value(p, R"(binlake_rows_total{table="shop.items",op="insert"})"), 1);
  EXPECT_EQ(Value(p, "binlake_transactions_total"), 2);
  EXPECT_EQ(Value(p, R"(binlake_ddl_total{table=""})"), 1);
  EXPECT_EQ(Value(p, R"(binlake_ddl_total{table="shop.items"})"), 1);
  // Every line is a comment or `name{labels} value` (the text exposition format).
  const std::regex sample(R"(^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$)");
  std::istringstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
}

TEST(MetricsTest, LabelsAreEscaped) {
  Metrics m;
  m.Transaction({{"s.t\"x\\y\nz", 1, 0, 0}});
  EXPECT_NE(m.Prometheus().find(R"(table="s.t\"x\\y\nz",op="insert"} 1)"), std::string::npos);
}

TEST(MetricsTest, FullLoadThenReplicating) {
  Metrics m;
  m.SetState("a.b", TableState::kQueued);
  m.FullLoadProgress("a.b", 500, 1000);
  auto j = nlohmann::json::parse(m.StatusJson());
  ASSERT_EQ(j["tables"].size(), 1u);
  EXPECT_EQ(j["tables"][0]["state"], "loading");
  EXPECT_EQ(j["tables"][0]["full_load"]["rows"], 500);
  EXPECT_EQ(j["tables"][0]["full_load"]["estimated"], 1000);
  m.FullLoadDone("a.b", 1002);
  m.SetState("a.b", TableState::kReplicating);
  j = nlohmann::json::parse(m.StatusJson());
  EXPECT_EQ(j["tables"][0]["state"], "replicating");
  EXPECT_EQ(j["tables"][0]["full_load"]["rows"], 1002);
  EXPECT_TRUE(j["tables"][0]["full_load"]["done"]);
}

TEST(MetricsTest, PendingAppliedAndLag) {
  Metrics m;
  m.Pending("a.b", 3, "20200101-000000000-0000000003.csv");
  EXPECT_EQ(Value(m.Prometheus(), "binlake_files_pending_sum"), 3);
  m.Applied("a.b", 2, 2, "20200101-000000000-0000000002.csv");
  auto j = nlohmann::json::parse(m.StatusJson());
  const auto& t = j["tables"][0];
  EXPECT_EQ(t["files_pending"], 1);
  EXPECT_EQ(t["last_applied_file"], "20200101-000000000-0000000002.csv");
  EXPECT_EQ(t["last_staged_file"], "20200101-000000000-0000000003.csv");
  // The name's time is years ago: a lag of years.
  EXPECT_GT(t["lag_lake_s"].get<double>(), 86400.0 * 365);
  EXPECT_EQ(j["totals"]["lake_commits"], 2);
  m.Error("a.b", "boom", true);
  j = nlohmann::json::parse(m.StatusJson());
  EXPECT_EQ(j["tables"][0]["state"], "error");
  EXPECT_EQ(j["tables"][0]["last_error"], "boom");
  EXPECT_EQ(j["totals"]["errors"], 1);
}

TEST(MetricsTest, SamplesFeedTheChartAndRates) {
  Metrics m;
  m.Sample();
  m.Transaction({{"a.b", 100, 0, 0}});
  m.Staged(1, 1000, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  m.Sample();
  auto j = nlohmann::json::parse(m.StatusJson());
  ASSERT_EQ(j["history"].size(), 2u);
  EXPECT_EQ(j["history"][0][1], -1);       // no flush yet
  EXPECT_GT(j["history"][1][1], 1e9 - 1);  // staged lag: a commit at 1970-01-01T00:00:01
  EXPECT_GT(j["tables"][0]["rows_per_second"]["insert"].get<double>(), 100);
  EXPECT_EQ(j["totals"]["bytes_staged"], 1000);
}

TEST(MetricsTest, ConcurrentTransactionsAreAllCounted) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; i++) {
    threads.emplace_back([&m] {
      for (int k = 0; k < 1000; k++) m.Transaction({{"a.b", 1, 1, 1}});
    });
  }
  for (auto& t : threads) t.join();
  const std::string p = m.Prometheus();
  EXPECT_EQ(Value(p, R"(binlake_rows_total{table="a.b",op="update"})"), 4000);
  EXPECT_EQ(Value(p, "binlake_transactions_total"), 4000);
}

TEST(MetricsTest, ChangeFileCommitTime) {
  EXPECT_EQ(ChangeFileCommitMs("20261206-081500123-0000000042.csv"), 1796544900123);
  EXPECT_EQ(ChangeFileCommitMs("LOAD00000001.csv"), -1);
  EXPECT_EQ(ChangeFileCommitMs("2026120x-081500123-0000000042.csv"), -1);
  EXPECT_EQ(ChangeFileCommitMs(""), -1);
}

TEST(DashboardTest, SelfContained) {
  const std::string& html = DashboardHtml();
  EXPECT_NE(html.find("id=\"lag-chart\""), std::string::npos);
  EXPECT_NE(html.find("api/status"), std::string::npos);
  // No external assets: no URL to another host, no <link> or script src.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
}

// GET path from 127.0.0.1:port; the whole response (headers and body).
std::string HttpGet(uint16_t port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(ServerTest, ServesMetricsStatusAndDashboard) {
  Metrics m;
  m.Transaction({{"a.b", 7, 0, 0}});
  auto server = Server::Start("127.0.0.1:0", &m);
  ASSERT_OK(server.status());
  const uint16_t port = (*server)->port();
  ASSERT_GT(port, 0);
  const std::string metrics = HttpGet(port, "/metrics");
  EXPECT_NE(metrics.find("200 OK"), std::string::npos);
  EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find(R"(binlake_rows_total{table="a.b",op="insert"} 7)"), std::string::npos);
  const std::string status = HttpGet(port, "/api/status");
  ASSERT_NE(status.find("\r\n\r\n"), std::string::npos);
  auto j = nlohmann::json::parse(status.substr(status.find("\r\n\r\n") + 4));
  EXPECT_EQ(j["totals"]["inserts"], 7);
  EXPECT_FALSE(j["history"].empty());  // sampled at start
  EXPECT_NE(HttpGet(port, "/").find("id=\"lag-chart\""), std::string::npos);
  EXPECT_NE(HttpGet(port, "/nothing").find("404"), std::string::npos);

  // The same address again: one line naming it and the key to change.
  auto second = Server::Start("127.0.0.1:" + std::to_string(port), &m);
  ASSERT_FALSE(second.ok());
  const std::string& msg = second.status().message();
  EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
  EXPECT_NE(msg.find("in use"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[ops] listen"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  (*server)->Stop();
  EXPECT_EQ(HttpGet(port, "/metrics"), "");
}

TEST(ServerTest, BadListenAddress) {
  Metrics m;
  for (const char* bad : {"7070", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:70x"}) {
    auto s = Server::Start(bad, &m);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace binlake::ops
