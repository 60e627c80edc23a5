// The full load's own connection; options mirror BinlogClient::Open so both connect alike.
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
  static std::once_flag init_once;
  std::call_once(init_once, [] { mysql_library_init(0, nullptr, nullptr); });
  Close();
  endpoint_ = "mysql " + o.host + ":" + std::to_string(o.port);
  mysql_ = mysql_init(nullptr);
  if (!mysql_) return Status::Internal(endpoint_ + ": out of memory in mysql_init");
  unsigned int connect_timeout = o.connect_timeout_s;
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  // A long unbuffered SELECT waits on the server between rows only briefly; keep its timeout.
  unsigned int read_timeout = o.read_timeout_s;
  if (read_timeout) mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_optionsv(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &connect_timeout);
  unsigned long max_packet = 1UL << 30;
  mysql_optionsv(mysql_, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
  mysql_optionsv(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (o.tls) {
    my_bool enforce = 1;
    my_bool verify = o.tls_verify_server_cert ? 1 : 0;
    mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_optionsv(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (!o.tls_ca.empty()) mysql_optionsv(mysql_, MYSQL_OPT_SSL_CA, o.tls_ca.c_str());
    if (!o.tls_cert.empty()) mysql_optionsv(mysql_, MYSQL_OPT_SSL_CERT, o.tls_cert.c_str());
    if (!o.tls_key.empty()) mysql_optionsv(mysql_, MYSQL_OPT_SSL_KEY, o.tls_key.c_str());
  }
  if (!mysql_real_connect(mysql_, o.host.c_str(), o.user.c_str(), o.password.c_str(), nullptr,
                          o.port, nullptr, 0)) {
    unsigned int e = mysql_errno(mysql_);
    Status st = LastError("cannot connect");
    Close();
    if (e == 1045) {
      return Status::InvalidArgument(endpoint_ + ": access denied for user '" + o.user +
                                     "' (check the password in BINLAKE_MYSQL_PASSWORD or "
                                     "password_file)");
    }
    return st;
  }
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
