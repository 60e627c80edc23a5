// The replication connection over libmariadb's raw packet path, so events arrive byte-exact with
// their checksum (mariadb_rpl_* would re-parse them).
#include "binlog/client.h"

// clang-format off
#include <mysql.h>
#include <errmsg.h>
// clang-format on

#include <cstring>
#include <mutex>

#include "binlog/event.h"
#include "util/byte_reader.h"

namespace binlake::binlog {

struct BinlogClient::Conn {
  MYSQL* mysql = nullptr;
  ~Conn() {
    if (mysql) mysql_close(mysql);
  }
};

namespace {

constexpr unsigned long kPacketError = packet_error;  // (unsigned int)-1, not ~0UL
constexpr unsigned long kMaxPacket = 1UL << 30;  // the largest event a server can write (1 GiB)

// Server error numbers that mean "the connection went away; try again".
bool IsRetryableServerErrno(unsigned int e) {
  return e == 1040 /* too many connections */ || e == 1053 /* shutdown in progress */ ||
         e == 1152 /* aborted connection */ || e == 1159 /* net read interrupted */ ||
         e == 1161 /* net write timeout */ || e == 1927 /* connection killed */ ||
         e == 1205 /* lock wait timeout */;
}

// Header fields the client needs to follow the position; the decoder re-parses everything else.
struct RawHeader {
  uint8_t type = 0;
  uint32_t event_size = 0;
  uint32_t log_pos = 0;
  uint16_t flags = 0;
};

bool ParseRawHeader(std::string_view ev, RawHeader* h) {
  ByteReader r(ev);
  uint32_t ts, server_id;
  return r.ReadU32(&ts) && r.ReadU8(&h->type) && r.ReadU32(&server_id) &&
         r.ReadU32(&h->event_size) && r.ReadU32(&h->log_pos) && r.ReadU16(&h->flags);
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

void PutU16(std::string* b, uint16_t v) {
  for (int i = 0; i < 2; i++) b->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU32(std::string* b, uint32_t v) {
  for (int i = 0; i < 4; i++) b->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

BinlogClient::BinlogClient(const ConnectionOptions& options)
    : options_(options), endpoint_(options.host + ":" + std::to_string(options.port)) {}

BinlogClient::~BinlogClient() = default;

Result<std::unique_ptr<BinlogClient>> BinlogClient::Connect(const ConnectionOptions& options) {
  std::string where = "mysql " + options.host + ":" + std::to_string(options.port);
  if (options.server_id == 0) {
    return Status::InvalidArgument(where +
                                   ": server_id must be non-zero and unique among the "
                                   "server's replicas");
  }
  if (options.user.empty()) return Status::InvalidArgument(where + ": no user given");
  if (options.heartbeat_period_ms != 0 && options.read_timeout_s != 0 &&
      uint64_t{options.read_timeout_s} * 1000 <= uint64_t{options.heartbeat_period_ms} * 2) {
    return Status::InvalidArgument(where + ": read_timeout must exceed twice the heartbeat period");
  }
  std::unique_ptr<BinlogClient> c(new BinlogClient(options));
  c->conn_ = std::make_unique<Conn>();
  BL_RETURN_IF_ERROR(c->Open(c->conn_.get()));
  MYSQL* m = c->conn_->mysql;
  c->server_version_ = mysql_get_server_info(m);
  c->is_mariadb_ = mariadb_connection(m) || c->server_version_.find("MariaDB") != std::string::npos;
  return c;
}

Result<MYSQL*> OpenMysql(const ConnectionOptions& options) {
  static std::once_flag init_once;
  std::call_once(init_once, [] { mysql_library_init(0, nullptr, nullptr); });
  const std::string where = "mysql " + options.host + ":" + std::to_string(options.port);
  MYSQL* m = mysql_init(nullptr);
  if (!m) return Status::Internal(where + ": out of memory in mysql_init");
  unsigned int connect_timeout = options.connect_timeout_s;
  unsigned int read_timeout = options.read_timeout_s;
  unsigned long max_packet = kMaxPacket;
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  if (read_timeout) mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
  mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &connect_timeout);
  mysql_optionsv(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (options.tls) {
    my_bool enforce = 1;
    my_bool verify = options.tls_verify_server_cert ? 1 : 0;
    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (!options.tls_ca.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_CA, options.tls_ca.c_str());
    if (!options.tls_cert.empty()) {
      mysql_optionsv(m, MYSQL_OPT_SSL_CERT, options.tls_cert.c_str());
    }
    if (!options.tls_key.empty()) mysql_optionsv(m, MYSQL_OPT_SSL_KEY, options.tls_key.c_str());
  }
  if (mysql_real_connect(m, options.host.c_str(), options.user.c_str(), options.password.c_str(),
                         nullptr, options.port, nullptr, CLIENT_REMEMBER_OPTIONS)) {
    return m;
  }
  unsigned int e = mysql_errno(m);
  std::string msg = mysql_error(m);
  mysql_close(m);
  if (e == 1045) {
    return Status::InvalidArgument(where + ": access denied for user '" + options.user +
                                   "' (check the password in BINLAKE_MYSQL_PASSWORD or "
                                   "password_file)");
  }
  if (e == CR_SSL_CONNECTION_ERROR || (options.tls && msg.find("SSL") != std::string::npos) ||
      (options.tls && msg.find("TLS") != std::string::npos)) {
    return Status::InvalidArgument(where + ": TLS connection failed: " + msg +
                                   " (check tls_ca/tls_cert/tls_key, that the server has TLS "
                                   "enabled, and that its certificate matches the host name)");
  }
  if (e == CR_UNKNOWN_HOST) {
    return Status::InvalidArgument(where + ": unknown host (check the host setting)");
  }
  if (e >= 2000 || IsRetryableServerErrno(e)) {
    return Status::Network(where + ": cannot connect: " + msg +
                           " (is the server running and reachable?)");
  }
  return Status::Server(where + ": cannot connect: " + msg + " (error " + std::to_string(e) + ")");
}

Status BinlogClient::Open(Conn* conn) {
  BL_ASSIGN_OR_RETURN(conn->mysql, OpenMysql(options_));
  return Status::Ok();
}

Status BinlogClient::Exec(const std::string& sql) {
  MYSQL* m = conn_->mysql;
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    unsigned int e = mysql_errno(m);
    std::string msg = "mysql " + endpoint_ + ": " + sql + ": " + mysql_error(m);
    if (e >= 2000 || IsRetryableServerErrno(e)) return Status::Network(msg);
    return Status::Server(msg);
  }
  if (MYSQL_RES* res = mysql_store_result(m)) mysql_free_result(res);
  return Status::Ok();
}

Result<std::vector<Row>> BinlogClient::QueryOn(Conn* conn, const std::string& sql) {
  MYSQL* m = conn->mysql;
  const std::string where = "mysql " + endpoint_;
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
    unsigned int e = mysql_errno(m);
    std::string msg = where + ": " + sql + ": " + mysql_error(m);
    if (e >= 2000 || IsRetryableServerErrno(e)) return Status::Network(msg);
    return Status::Server(msg);
  }
  std::vector<Row> rows;
  MYSQL_RES* res = mysql_store_result(m);
  if (!res) {
    if (mysql_field_count(m) != 0) {
      return Status::Network(where + ": " + sql + ": reading result: " + mysql_error(m));
    }
    return rows;
  }
  unsigned int n = mysql_num_fields(res);
  while (MYSQL_ROW r = mysql_fetch_row(res)) {
    unsigned long* len = mysql_fetch_lengths(res);
    Row row(n);
    for (unsigned int i = 0; i < n; i++) {
      if (r[i]) row[i] = std::string(r[i], len[i]);
    }
    rows.push_back(std::move(row));
  }
  mysql_free_result(res);
  return rows;
}

Result<std::vector<Row>> BinlogClient::Query(const std::string& sql) {
  if (!conn_) return Status::Network("mysql " + endpoint_ + ": disconnected");
  if (!dumping_) return QueryOn(conn_.get(), sql);
  if (!query_conn_) {
    auto c = std::make_unique<Conn>();
    BL_RETURN_IF_ERROR(Open(c.get()));
    query_conn_ = std::move(c);
  }
  return QueryOn(query_conn_.get(), sql);
}

Result<StartPosition> BinlogClient::CurrentPosition() {
  // MySQL 8.4 removed SHOW MASTER STATUS; MySQL < 8.2 and old MariaDB lack the new spelling.
  auto rows = Query("SHOW MASTER STATUS");
  if (!rows.ok() && rows.status().code() == StatusCode::kServer) {
    rows = Query("SHOW BINARY LOG STATUS");
  }
  if (!rows.ok()) return rows.status();
  if (rows->empty() || rows->front().size() < 2 || !rows->front()[0] || !rows->front()[1]) {
    return Status::InvalidArgument("mysql " + endpoint_ +
                                   ": binary logging is off (start the server with log_bin, "
                                   "binlog_format=ROW)");
  }
  StartPosition p;
  p.file = *rows->front()[0];
  p.pos = std::stoull(*rows->front()[1]);
  return p;
}

Status BinlogClient::StartDump(const StartPosition& start) {
  const std::string where = "mysql " + endpoint_;
  if (!conn_) return Status::Network(where + ": disconnected");
  if (dumping_) return Status::Internal(where + ": StartDump called twice on one connection");
  StartPosition from = start;
  if (!from.gtid.empty() && !is_mariadb_) {
    return Status::NotSupported(where +
                                ": starting from a MySQL GTID set is not supported yet "
                                "(start from a file and position)");
  }
  if (from.gtid.empty() && from.file.empty()) {
    BL_ASSIGN_OR_RETURN(from, CurrentPosition());
  }
  if (from.gtid.empty() && from.pos < 4) from.pos = 4;
  if (from.pos > 0xffffffffULL) {
    return Status::InvalidArgument(where + ": start position " + std::to_string(from.pos) +
                                   " does not fit COM_BINLOG_DUMP (4 GiB limit)");
  }
  start_desc_ =
      from.gtid.empty() ? from.file + ":" + std::to_string(from.pos) : "GTID " + from.gtid;

  // Without the checksum setting the server refuses to stream (1236); both spellings for MySQL 8.
  BL_RETURN_IF_ERROR(
      Exec("SET @master_binlog_checksum = @@global.binlog_checksum, "
           "@source_binlog_checksum = @@global.binlog_checksum"));
  // The artificial ROTATE comes before any FORMAT_DESCRIPTION: learn the checksum length here.
  BL_ASSIGN_OR_RETURN(auto alg, Query("SELECT @@global.binlog_checksum"));
  checksum_ = !alg.empty() && !alg[0].empty() && alg[0][0] && *alg[0][0] != "NONE";
  if (options_.heartbeat_period_ms) {
    std::string ns = std::to_string(uint64_t{options_.heartbeat_period_ms} * 1000000);
    BL_RETURN_IF_ERROR(
        Exec("SET @master_heartbeat_period = " + ns + ", @source_heartbeat_period = " + ns));
  }
  if (is_mariadb_) {
    // Capability 4 (MARIA_SLAVE_CAPABILITY_GTID): real GTID events instead of BEGIN queries.
    BL_RETURN_IF_ERROR(Exec("SET @mariadb_slave_capability = 4"));
    if (!from.gtid.empty()) {
      BL_RETURN_IF_ERROR(Exec("SET @slave_connect_state = " + Quote(from.gtid)));
      BL_RETURN_IF_ERROR(
          Exec("SET @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0"));
    }
  }

  MYSQL* m = conn_->mysql;
  std::string reg;
  PutU32(&reg, options_.server_id);
  reg.append(3, '\0');  // empty report host, user, password
  PutU16(&reg, 0);      // report port
  PutU32(&reg, 0);      // replication rank
  PutU32(&reg, 0);      // master id
  if (m->methods->db_command(m, COM_REGISTER_SLAVE, reg.data(), reg.size(), 0, nullptr) != 0) {
    unsigned int e = mysql_errno(m);
    std::string msg = where + ": COM_REGISTER_SLAVE failed: " + mysql_error(m);
    if (e >= 2000 || IsRetryableServerErrno(e)) return Status::Network(msg);
    return Status::Server(msg + " (grant REPLICATION SLAVE to the user)");
  }

  std::string dump;
  PutU32(&dump, from.gtid.empty() ? static_cast<uint32_t>(from.pos) : 4);
  // Blocking dump; MariaDB skips ANNOTATE_ROWS (leaving position gaps) unless asked for them.
  constexpr uint16_t kSendAnnotateRows = 2;
  PutU16(&dump, is_mariadb_ ? kSendAnnotateRows : 0);
  PutU32(&dump, options_.server_id);
  if (from.gtid.empty()) dump += from.file;  // MariaDB GTID start: empty name
  if (m->methods->db_command(m, COM_BINLOG_DUMP, dump.data(), dump.size(), 1, nullptr) != 0) {
    return Status::Network(where + ": COM_BINLOG_DUMP failed: " + mysql_error(m));
  }
  dumping_ = true;
  file_ = from.gtid.empty() ? from.file : "";
  pos_ = from.gtid.empty() ? from.pos : 4;
  event_offset_ = pos_;
  return Status::Ok();
}

Result<std::string_view> BinlogClient::Next() {
  const std::string where = "mysql " + endpoint_;
  if (!conn_) return Status::Network(where + ": disconnected");
  if (!dumping_) return Status::Internal(where + ": Next() before StartDump()");
  MYSQL* m = conn_->mysql;
  unsigned long len = mysql_net_read_packet(m);
  if (len == kPacketError) return ServerError(mysql_errno(m), mysql_error(m));
  const unsigned char* p = m->net.read_pos;
  if (len == 0) return Status::Corruption(where + ": empty packet in the binlog stream");
  if (p[0] == 0xfe && len < 9) {
    return Status::Network(where + ": server ended the binlog stream at " + file_ + ":" +
                           std::to_string(pos_));
  }
  if (p[0] == 0xff) {
    // Error packet: 0xff, errno (2), '#' + SQLSTATE (5), message.
    unsigned int e = len >= 3 ? p[1] | (p[2] << 8) : 0;
    size_t skip = (len >= 9 && p[3] == '#') ? 9 : 3;
    std::string msg = len > skip ? std::string(reinterpret_cast<const char*>(p + skip), len - skip)
                                 : std::string("unknown error");
    return ServerError(e, msg);
  }
  if (p[0] != 0x00) {
    return Status::Corruption(where + ": unexpected packet header byte " + std::to_string(p[0]) +
                              " in the binlog stream after " + file_ + ":" + std::to_string(pos_));
  }
  std::string_view ev(reinterpret_cast<const char*>(p + 1), len - 1);
  BL_RETURN_IF_ERROR(TrackPosition(ev));
  return ev;
}

namespace {
constexpr std::string_view kCannotStream = ": cannot stream the binlog from ";
}  // namespace

bool IsBinlogUnavailable(const Status& status) {
  return status.code() == StatusCode::kServer &&
         status.message().find(kCannotStream) != std::string::npos;
}

Status BinlogClient::ServerError(unsigned int e, const std::string& msg) const {
  const std::string where = "mysql " + endpoint_;
  if (e == 1236) {
    return Status::Server(where + std::string(kCannotStream) + start_desc_ + ": " + msg +
                          " (the file may have been purged or never existed: check SHOW BINARY "
                          "LOGS, start from the current position or a new snapshot, and keep "
                          "binlogs longer with expire_logs_days/binlog_expire_logs_seconds)");
  }
  if (e >= 2000 || e == 0 || IsRetryableServerErrno(e)) {
    return Status::Network(where + ": binlog stream lost at " + file_ + ":" + std::to_string(pos_) +
                           ": " + msg);
  }
  return Status::Server(where + ": binlog stream at " + file_ + ":" + std::to_string(pos_) + ": " +
                        msg + " (error " + std::to_string(e) + ")");
}

Status BinlogClient::TrackPosition(std::string_view ev) {
  RawHeader h;
  if (!ParseRawHeader(ev, &h) || h.event_size != ev.size()) {
    return Status::Corruption("mysql " + endpoint_ + ": truncated or mis-sized event after " +
                              file_ + ":" + std::to_string(pos_));
  }
  const bool artificial = (h.flags & kLogEventArtificialFlag) != 0;
  event_offset_ = pos_;
  if (h.type == kRotate) {
    // Body: 8-byte position, then the file name up to the checksum.
    ByteReader r(ev.substr(kEventHeaderSize));
    uint64_t next_pos;
    if (!r.ReadU64(&next_pos)) {
      return Status::Corruption("mysql " + endpoint_ + ": short ROTATE event");
    }
    std::string_view rest(reinterpret_cast<const char*>(r.current()), r.remaining());
    if (checksum_) {
      if (rest.size() < 4) return Status::Corruption("mysql " + endpoint_ + ": short ROTATE event");
      rest.remove_suffix(4);
    }
    if (!artificial && h.log_pos >= h.event_size) event_offset_ = h.log_pos - h.event_size;
    file_ = std::string(rest);
    pos_ = next_pos;
    return Status::Ok();
  }
  if (artificial || h.log_pos == 0 || h.type == kHeartbeat || h.type == kHeartbeatV2) {
    return Status::Ok();  // heartbeats and replayed FORMAT_DESCRIPTIONs do not move the position
  }
  if (h.log_pos >= h.event_size) event_offset_ = h.log_pos - h.event_size;
  pos_ = h.log_pos;
  return Status::Ok();
}

void BinlogClient::Disconnect() {
  conn_.reset();
  query_conn_.reset();
}

}  // namespace binlake::binlog
