// The full load's own connection, opened as the replication client opens its own.
#include "source/mysql_conn.h"

// clang-format off
#include <mysql.h>
#include <errmsg.h>
// clang-format on

#include <mutex>

namespace binlake::source {

MysqlConn::~MysqlConn() { Close(); }

void MysqlConn::Close() {
  if (mysql_) mysql_close(mysql_);
  mysql_ = nullptr;
}

Status MysqlConn::Open(const binlog::ConnectionOptions& o) {
  Close();
  endpoint_ = "mysql " + o.host + ":" + std::to_string(o.port);
  BL_ASSIGN_OR_RETURN(mysql_, binlog::OpenMysql(o));
  server_version_ = mysql_get_server_info(mysql_);
  is_mariadb_ = mariadb_connection(mysql_) || server_version_.find("MariaDB") != std::string::npos;
  return Status::Ok();
}

Status MysqlConn::LastError(const std::string& what) const {
  if (!mysql_) return Status::Network(endpoint_ + ": " + what + ": not connected");
  unsigned int e = mysql_errno(mysql_);
  std::string msg = endpoint_ + ": " + what + ": " + mysql_error(mysql_);
  if (e >= 2000 || e == 1053 || e == 1152 || e == 1159 || e == 1161 || e == 1927) {
    return Status::Network(msg);
  }
  return Status::Server(msg + " (error " + std::to_string(e) + ")");
}

Status MysqlConn::Exec(const std::string& sql) {
  if (!mysql_) return LastError(sql);
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return LastError(sql);
  if (MYSQL_RES* res = mysql_store_result(mysql_)) mysql_free_result(res);
  return Status::Ok();
}

Result<std::vector<binlog::Row>> MysqlConn::Query(const std::string& sql) {
  if (!mysql_) return LastError(sql);
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return LastError(sql);
  std::vector<binlog::Row> rows;
  MYSQL_RES* res = mysql_store_result(mysql_);
  if (!res) {
    if (mysql_field_count(mysql_) != 0) return LastError(sql);
    return rows;
  }
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
  return rows;
}

}  // namespace binlake::source
