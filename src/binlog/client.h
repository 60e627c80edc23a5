// One replication connection to MySQL/MariaDB: registers as a replica and streams raw binlog
// events.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

struct st_mysql;  // libmariadb's MYSQL

namespace binlake::binlog {

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 3306;
  std::string user;
  std::string password;  // filled by the caller from env var or file; never from argv, never logged
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert, tls_key;
  bool tls_verify_server_cert = true;
  uint32_t server_id = 0;               // replica id to register with; must be non-zero and unique
  uint32_t heartbeat_period_ms = 1000;  // 0 disables heartbeats
  uint32_t connect_timeout_s = 10, read_timeout_s = 30;
};

struct StartPosition {
  std::string file;  // empty (and no gtid): the server's current position
  uint64_t pos = 4;
  std::string gtid;  // MariaDB GTID state like "0-1-100"; when set, file/pos are ignored
};

using Row = std::vector<std::optional<std::string>>;

// Whether a status is the server's refusal to stream from the asked position (error 1236: the
// binlog file or GTID is gone, purged or never written).
bool IsBinlogUnavailable(const Status& status);

// A plain client connection with the options above (timeouts, utf8mb4, TLS); errors are one line
// naming host:port and the fix. The caller closes it with mysql_close.
Result<st_mysql*> OpenMysql(const ConnectionOptions& options);

class BinlogClient {
 public:
  // Connects and authenticates; errors name host:port and the fix.
  static Result<std::unique_ptr<BinlogClient>> Connect(const ConnectionOptions& options);
  ~BinlogClient();
  BinlogClient(const BinlogClient&) = delete;
  BinlogClient& operator=(const BinlogClient&) = delete;

  // Checksum/capability/heartbeat setup, COM_REGISTER_SLAVE, then COM_BINLOG_DUMP (MariaDB: by GTID
  // when start.gtid is set). Only once per client.
  Status StartDump(const StartPosition& start);

  // The next raw event (19-byte header + body + checksum, as in a binlog file), valid until the
  // next call. Connection loss -> kNetwork (retryable); server errors (purged binlog...) ->
  // kServer.
  Result<std::string_view> Next();

  // File/pos of the NEXT event: follows ROTATE and the header's log_pos of non-artificial events.
  const std::string& file() const { return file_; }
  uint64_t pos() const { return pos_; }
  // Offset of the event last returned by Next() in its file (for artificial events: pos()).
  uint64_t event_offset() const { return event_offset_; }

  bool is_mariadb() const { return is_mariadb_; }
  std::string server_version() const { return server_version_; }
  // "host:port" as used in messages.
  const std::string& endpoint() const { return endpoint_; }

  // Plain SQL: on this connection before StartDump, on a second connection after it.
  Result<std::vector<Row>> Query(const std::string& sql);

  // The server's current binlog file and position (SHOW MASTER STATUS / SHOW BINARY LOG STATUS).
  Result<StartPosition> CurrentPosition();

  // Drops the connection (later calls fail with kNetwork); tests use it to simulate a network cut.
  void Disconnect();

 private:
  struct Conn;
  explicit BinlogClient(const ConnectionOptions& options);
  Status Open(Conn* conn);
  Status Exec(const std::string& sql);
  Result<std::vector<Row>> QueryOn(Conn* conn, const std::string& sql);
  Status TrackPosition(std::string_view event);
  Status ServerError(unsigned int errnum, const std::string& msg) const;

  ConnectionOptions options_;
  std::string endpoint_;
  std::unique_ptr<Conn> conn_;
  std::unique_ptr<Conn> query_conn_;  // opened lazily once the main one is dumping
  bool dumping_ = false;
  bool is_mariadb_ = false;
  bool checksum_ = false;  // events carry a CRC32 trailer
  std::string server_version_;
  std::string file_;
  uint64_t pos_ = 4;
  uint64_t event_offset_ = 0;
  std::string start_desc_;  // "binlog.000003:4" or "GTID 0-1-100", for error messages
};

}  // namespace binlake::binlog
