// Integration-test access to the fixture's MariaDB (header-only: tests/ globs only *_test/*_itest).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

// clang-format off
#include <mysql.h>
// clang-format on

#include "binlog/client.h"
#include "util/status.h"

namespace binlake::testing {

class TestMysql {
 public:
  // The server the CTest fixture started: BINLAKE_TEST_MYSQL_PORT / BINLAKE_TEST_MYSQL_DIR from the
  // environment when set, else the build's defaults compiled in by CMake.
  static Result<std::unique_ptr<TestMysql>> FromEnv() {
    const char* port = std::getenv("BINLAKE_TEST_MYSQL_PORT");
    const char* dir = std::getenv("BINLAKE_TEST_MYSQL_DIR");
    if (!port) port = BINLAKE_TEST_MYSQL_PORT_DEFAULT;
    std::string dir_str = dir ? dir : BINLAKE_TEST_MYSQL_DIR_DEFAULT;
    std::ifstream in(dir_str + "/password");
    std::string password;
    if (!in || !std::getline(in, password)) {
      return Status::NotFound("no password file in " + dir_str);
    }
    auto t = std::unique_ptr<TestMysql>(new TestMysql());
    t->dir_ = dir_str;
    t->port_ = static_cast<uint16_t>(std::stoi(port));
    t->password_ = password;
    return t;
  }

  ~TestMysql() { Close(); }

  const std::string& dir() const { return dir_; }
  uint16_t port() const { return port_; }

  // Options for user binlake with a server_id no other test (or process) uses.
  binlog::ConnectionOptions Options() const {
    static std::atomic<uint32_t> counter{0};
    binlog::ConnectionOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.user = "binlake";
    o.password = password_;
    o.server_id = 1000 + static_cast<uint32_t>(getpid() % 100000) * 100 + counter++ % 100;
    o.connect_timeout_s = 5;
    o.read_timeout_s = 10;
    return o;
  }

  Status Exec(const std::string& sql) { return Query(sql).status(); }

  // Rows with every value as a string (NULL -> nullopt); reconnects after a server restart.
  Result<std::vector<binlog::Row>> Query(const std::string& sql) {
    BL_RETURN_IF_ERROR(Ensure());
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
      std::string msg = sql + ": " + mysql_error(mysql_);
      Close();
      return Status::Server(msg);
    }
    std::vector<binlog::Row> rows;
    do {
      MYSQL_RES* res = mysql_store_result(mysql_);
      if (!res) continue;
      unsigned int n = mysql_num_fields(res);
      while (MYSQL_ROW r = mysql_fetch_row(res)) {
        unsigned long* len = mysql_fetch_lengths(res);
        binlog::Row row(n);
        for (unsigned int i = 0; i < n; i++) {
          if (r[i]) row[i] = std::string(r[i], len[i]);
        }
        rows.push_back(std::move(row));
      }
      mysql_free_result(res);
    } while (mysql_next_result(mysql_) == 0);
    return rows;
  }

  // Single value of a one-row query, "" for NULL or no row.
  Result<std::string> Scalar(const std::string& sql) {
    BL_ASSIGN_OR_RETURN(auto rows, Query(sql));
    if (rows.empty() || rows[0].empty() || !rows[0][0]) return std::string();
    return *rows[0][0];
  }

  // Restarts the server through scripts/mariadb.sh (the binlog moves to a new file).
  Status Restart() {
    Close();
    std::string cmd = std::string(BINLAKE_SOURCE_DIR) + "/scripts/mariadb.sh restart '" + dir_ +
                      "' " + std::to_string(port_) + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return Status::Internal("mariadb.sh restart failed");
    return Status::Ok();
  }

  Status FlushLogs() { return Exec("FLUSH BINARY LOGS"); }

  // The server's current binlog file and position.
  Result<binlog::StartPosition> CurrentPosition() {
    BL_ASSIGN_OR_RETURN(auto rows, Query("SHOW MASTER STATUS"));
    if (rows.empty() || !rows[0][0] || !rows[0][1]) return Status::NotFound("binlog is off");
    binlog::StartPosition p;
    p.file = *rows[0][0];
    p.pos = std::stoull(*rows[0][1]);
    return p;
  }

 private:
  TestMysql() = default;

  Status Ensure() {
    if (mysql_) return Status::Ok();
    mysql_ = mysql_init(nullptr);
    unsigned int timeout = 10;
    mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (!mysql_real_connect(mysql_, "127.0.0.1", "binlake", password_.c_str(), nullptr, port_,
                            nullptr, CLIENT_MULTI_STATEMENTS)) {
      std::string msg = mysql_error(mysql_);
      Close();
      return Status::Network("test connection: " + msg);
    }
    return Status::Ok();
  }

  void Close() {
    if (mysql_) mysql_close(mysql_);
    mysql_ = nullptr;
  }

  std::string dir_;
  uint16_t port_ = 0;
  std::string password_;
  MYSQL* mysql_ = nullptr;
};

}  // namespace binlake::testing
