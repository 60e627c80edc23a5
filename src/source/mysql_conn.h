// A plain SQL connection for the full load: it needs mysql_use_result (streaming), which
// BinlogClient's buffered Query does not offer.
#pragma once

#include <string>
#include <vector>

#include "binlog/client.h"
#include "util/status.h"

struct st_mysql;

namespace binlake::source {

class MysqlConn {
 public:
  MysqlConn() = default;
  ~MysqlConn();
  MysqlConn(const MysqlConn&) = delete;
  MysqlConn& operator=(const MysqlConn&) = delete;

  // Connects with the same client options as BinlogClient (timeouts, utf8mb4, TLS).
  Status Open(const binlog::ConnectionOptions& options);
  Status Exec(const std::string& sql);
  Result<std::vector<binlog::Row>> Query(const std::string& sql);
  // Status for the last failed call on this connection: kNetwork when retryable.
  Status LastError(const std::string& what) const;
  void Close();

  st_mysql* get() const { return mysql_; }
  const std::string& endpoint() const { return endpoint_; }  // "mysql host:port"
  bool is_mariadb() const { return is_mariadb_; }
  const std::string& server_version() const { return server_version_; }

 private:
  st_mysql* mysql_ = nullptr;
  std::string endpoint_;
  std::string server_version_;
  bool is_mariadb_ = false;
};

}  // namespace binlake::source
