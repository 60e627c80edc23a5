// The consistent full load: one transaction-snapshot connection, each table streamed unbuffered
// (mysql_use_result) in primary-key order, cells rendered straight from libmariadb's row buffer.
#include <mysql.h>

#include <array>
#include <charconv>
#include <chrono>

#include "source/internal.h"
#include "source/mysql_conn.h"
#include "source/source.h"

namespace binlake::source {
namespace {

using Clock = std::chrono::steady_clock;

// How a column's SELECT text becomes canonical text.
enum class Conv : uint8_t {
  kAsIs,    // the server's text is the canonical text
  kFloat,   // `c`+0e0: the exact float widened to double; print the float shortest
  kDouble,  // print shortest (the server writes 1e20, canonical is 1e+20)
};

class SnapshotImpl : public Snapshot {
 public:
  Status Start(const binlog::ConnectionOptions& options);
  const staging::SourcePosition& position() const override { return position_; }
  Status LoadTable(const staging::TableSchema& table, staging::LoadWriter* writer,
                   const ProgressCallback& progress, const std::atomic<bool>* stop) override;

 private:
  Status StartMariadb();
  Status StartMysql();
  Status ReadMasterStatus();

  MysqlConn conn_;
  staging::SourcePosition position_;
};

Status SnapshotImpl::Start(const binlog::ConnectionOptions& options) {
  BL_RETURN_IF_ERROR(conn_.Open(options));
  // UTC so TIMESTAMP text matches the binlog's; a long write timeout because the loader may
  // pause reading while the staging store writes a file.
  BL_RETURN_IF_ERROR(
      conn_.Exec("SET NAMES utf8mb4, time_zone = '+00:00', SESSION net_write_timeout = 3600"));
  BL_RETURN_IF_ERROR(conn_.Exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  return conn_.is_mariadb() ? StartMariadb() : StartMysql();
}

Status SnapshotImpl::StartMariadb() {
  // MariaDB reports the binlog position matching the snapshot, so no lock is needed.
  BL_RETURN_IF_ERROR(conn_.Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"));
  BL_ASSIGN_OR_RETURN(auto rows, conn_.Query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
  for (const auto& r : rows) {
    if (r.size() < 2 || !r[0] || !r[1]) continue;
    if (*r[0] == "Binlog_snapshot_file") position_.file = *r[1];
    if (*r[0] == "Binlog_snapshot_position") position_.pos = std::stoull(*r[1]);
  }
  if (position_.file.empty()) {
    return Status::InvalidArgument(conn_.endpoint() +
                                   ": binary logging is off (start the server with log_bin, "
                                   "binlog_format=ROW)");
  }
  // The GTID state at exactly that position (@@gtid_binlog_pos may already be further).
  BL_ASSIGN_OR_RETURN(auto gtid, conn_.Query("SELECT BINLOG_GTID_POS(" + SqlQuote(position_.file) +
                                             ", " + std::to_string(position_.pos) + ")"));
  if (!gtid.empty() && !gtid[0].empty() && gtid[0][0]) position_.gtid = *gtid[0][0];
  return Status::Ok();
}

Status SnapshotImpl::ReadMasterStatus() {
  auto rows = conn_.Query("SHOW MASTER STATUS");
  if (!rows.ok() && rows.status().code() == StatusCode::kServer) {
    rows = conn_.Query("SHOW BINARY LOG STATUS");  // MySQL 8.4 dropped SHOW MASTER STATUS
  }
  if (!rows.ok()) return rows.status();
  if (rows->empty() || !rows->front()[0] || !rows->front()[1]) {
    return Status::InvalidArgument(conn_.endpoint() +
                                   ": binary logging is off (start the server with log_bin, "
                                   "binlog_format=ROW)");
  }
  position_.file = *rows->front()[0];
  position_.pos = std::stoull(*rows->front()[1]);
  if (rows->front().size() >= 5 && rows->front()[4]) position_.gtid = *rows->front()[4];
  return Status::Ok();
}

Status SnapshotImpl::StartMysql() {
  // The read lock holds commits while the snapshot starts and the position is read.
  Status lock = conn_.Exec("FLUSH TABLES WITH READ LOCK");
  if (lock.ok()) {
    Status st = conn_.Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT");
    if (st.ok()) st = ReadMasterStatus();
    Status unlock = conn_.Exec("UNLOCK TABLES");
    BL_RETURN_IF_ERROR(st);
    return unlock;
  }
  if (lock.message().find("error 1227") == std::string::npos &&
      lock.message().find("error 1045") == std::string::npos) {
    return lock;
  }
  // No RELOAD: the position read before the snapshot misses nothing; a change committed in
  // between is both loaded and replayed (an upsert by primary key).
  BL_RETURN_IF_ERROR(ReadMasterStatus());
  return conn_.Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT");
}

Status SnapshotImpl::LoadTable(const staging::TableSchema& table, staging::LoadWriter* writer,
                               const ProgressCallback& progress, const std::atomic<bool>* stop) {
  const std::string name = table.schema + "." + table.table;
  const std::string where = conn_.endpoint() + ": full load of " + name;
  if (!conn_.get()) {
    return Status::Internal(where + ": the snapshot connection is closed (begin a new snapshot)");
  }
  if (table.columns.empty()) return Status::InvalidArgument(where + ": no columns");
  LoadProgress p;
  p.table = name;
  BL_ASSIGN_OR_RETURN(
      auto est, conn_.Query("SELECT TABLE_ROWS FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = " +
                            SqlQuote(table.schema) + " AND TABLE_NAME = " + SqlQuote(table.table)));
  if (!est.empty() && est[0][0]) p.rows_estimated = std::stoull(*est[0][0]);

  const size_t n = table.columns.size();
  std::vector<Conv> conv(n, Conv::kAsIs);
  std::string sql = "SELECT ";
  std::vector<std::pair<int, std::string>> key;
  for (size_t i = 0; i < n; i++) {
    const auto& c = table.columns[i];
    const std::string col = QuoteIdent(c.name);
    if (i) sql += ", ";
    const bool bytes = c.collation == 63 && (c.binlog_type == binlog::kTypeString ||
                                             c.binlog_type == binlog::kTypeVarchar ||
                                             c.binlog_type == binlog::kTypeBlob);
    if (c.binlog_type == binlog::kTypeBit) {
      sql += col + "+0";
    } else if (bytes || c.binlog_type == binlog::kTypeGeometry) {
      sql += "HEX(" + col + ")";
    } else if (c.binlog_type == binlog::kTypeFloat) {
      sql += col + "+0e0";  // a FLOAT column prints 6 digits; the widened double is exact
      conv[i] = Conv::kFloat;
    } else if (c.binlog_type == binlog::kTypeDouble) {
      sql += col;
      conv[i] = Conv::kDouble;
    } else {
      sql += col;
    }
    if (c.pk_position >= 0) key.emplace_back(c.pk_position, col);
  }
  sql += " FROM " + QuoteIdent(table.schema) + "." + QuoteIdent(table.table);
  if (!key.empty()) {
    std::sort(key.begin(), key.end());
    sql += " ORDER BY ";
    for (size_t k = 0; k < key.size(); k++) sql += (k ? ", " : "") + key[k].second;
  }

  MYSQL* m = conn_.get();
  if (mysql_real_query(m, sql.data(), sql.size()) != 0)
    return conn_.LastError("full load of " + name);
  MYSQL_RES* res = mysql_use_result(m);
  if (!res) return conn_.LastError("full load of " + name);
  if (mysql_num_fields(res) != n) {
    mysql_free_result(res);
    return Status::Internal(where + ": column count changed");
  }

  std::vector<staging::Cell> cells(n);
  std::vector<std::array<char, 32>> num(n);  // float/double text, rewritten per row
  const auto start = Clock::now();
  auto last_report = start;
  // Abandoning an unbuffered result would mean reading it to the end; drop the connection.
  auto abort = [&](Status st) {
    mysql_free_result(res);
    conn_.Close();
    return st;
  };
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    const unsigned long* len = mysql_fetch_lengths(res);
    for (size_t i = 0; i < n; i++) {
      staging::Cell& cell = cells[i];
      cell.is_null = row[i] == nullptr;
      if (cell.is_null) {
        cell.text = {};
        continue;
      }
      if (conv[i] == Conv::kAsIs) {
        cell.text = std::string_view(row[i], len[i]);
        continue;
      }
      double d = 0;
      auto r = std::from_chars(row[i], row[i] + len[i], d);
      if (r.ec != std::errc() || r.ptr != row[i] + len[i]) {
        return abort(Status::Corruption(where + ": column " + table.columns[i].name +
                                        ": unreadable number '" + std::string(row[i], len[i]) +
                                        "'"));
      }
      char* out = num[i].data();
      std::to_chars_result w;
      if (d == 0) d = 0;  // -0 -> 0, as in CanonicalText
      if (conv[i] == Conv::kFloat) {
        float f = static_cast<float>(d);
        w = std::to_chars(out, out + num[i].size(), f);
      } else {
        w = std::to_chars(out, out + num[i].size(), d);
      }
      cell.text = std::string_view(out, w.ptr - out);
    }
    Status st = writer->AppendRow(cells);
    if (!st.ok()) return abort(st.WithContext(where));
    p.rows_done++;
    if (stop && stop->load(std::memory_order_relaxed)) {
      return abort(
          Status::Internal(where + ": stopped after " + std::to_string(p.rows_done) + " rows"));
    }
    if ((p.rows_done & 1023) == 0 && progress) {
      auto now = Clock::now();
      if (now - last_report >= std::chrono::milliseconds(500)) {
        last_report = now;
        p.seconds = std::chrono::duration<double>(now - start).count();
        progress(p);
      }
    }
  }
  if (mysql_errno(m) != 0) {
    Status st =
        conn_.LastError("full load of " + name + " after " + std::to_string(p.rows_done) + " rows");
    return abort(st);
  }
  mysql_free_result(res);
  if (progress) {
    p.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    progress(p);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Snapshot>> Snapshot::Begin(const binlog::ConnectionOptions& conn) {
  auto s = std::make_unique<SnapshotImpl>();
  BL_RETURN_IF_ERROR(s->Start(conn));
  return std::unique_ptr<Snapshot>(std::move(s));
}

}  // namespace binlake::source
