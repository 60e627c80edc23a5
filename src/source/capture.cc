// The capture: full load in one snapshot, then whole transactions from the binlog into staging.
#include "source/capture.h"

#include <dirent.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include "binlog/decoder.h"
#include "binlog/stream.h"
#include "source/ddl.h"
#include "source/internal.h"
#include "source/mysql_conn.h"

namespace binlake::source {
namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::string TableKey(const std::string& schema, const std::string& table) {
  return schema + "." + table;
}

// Same columns by type, ignoring names: a TABLE_MAP without names still matches its schema.
bool SameTypes(const staging::TableSchema& a, const staging::TableSchema& b) {
  if (a.columns.size() != b.columns.size()) return false;
  for (size_t i = 0; i < a.columns.size(); i++) {
    const auto& x = a.columns[i];
    const auto& y = b.columns[i];
    if (x.binlog_type != y.binlog_type || x.binlog_meta != y.binlog_meta) return false;
  }
  return true;
}

std::string ProgressLine(const LoadProgress& p);

// Whether binlog position a (file, offset) comes before b.
bool Before(std::string_view file, uint64_t offset, const staging::SourcePosition& b) {
  return file != b.file ? file < b.file : offset < b.pos;
}

// Turns the decoder's events into staging transactions.
class CaptureSink : public binlog::EventSink {
 public:
  CaptureSink(staging::Staging* staging, const CaptureOptions& options,
              const std::atomic<bool>* stop_requested, std::atomic<bool>* stream_stop,
              const CaptureLog& log, CaptureStats* stats)
      : staging_(staging),
        options_(options),
        stop_requested_(stop_requested),
        stream_stop_(stream_stop),
        log_(log),
        stats_(stats) {}

  // File replay: events before the checkpoint were captured already.
  void SkipUntil(const staging::SourcePosition& pos) { skip_until_ = pos; }
  bool in_transaction() const { return in_txn_; }

  Status OnEvent(const binlog::EventContext& ctx) override {
    const binlog::EventHeader& h = *ctx.header;
    if (h.type == binlog::kTransactionPayload) {
      payload_offset_ = ctx.offset;
      payload_end_ = ctx.offset + h.event_size;
      in_payload_ = true;
    } else if (in_payload_ && ctx.offset != payload_offset_) {
      in_payload_ = false;
    }
    file_.assign(ctx.file);
    event_end_ = in_payload_ ? payload_end_ : ctx.offset + h.event_size;
    skipping_ = !skip_until_.empty() && file_ == skip_until_.file && ctx.offset < skip_until_.pos;
    return {};
  }

  Status OnBegin(const binlog::EventContext& ctx) override {
    if (skipping_) return {};
    return Begin(ctx);
  }

  Status OnTableMap(const binlog::EventContext& ctx, const binlog::TableMap& map) override {
    if (skipping_ || !options_.filter.Matches(map.schema, map.table)) return {};
    if (LoadedLater(ctx, map.schema, map.table)) return {};
    staging::TableSchema schema = SchemaFromTableMap(map);
    std::string key = TableKey(map.schema, map.table);
    const staging::TableSchema* latest = staging_->LatestSchema(map.schema, map.table);
    if (!map.has_names) {
      // Without binlog_row_metadata=FULL the map has no names: keep the registered version when
      // the column types still match it.
      if (latest && SameTypes(*latest, schema)) {
        tables_[map.table_id] = TableState{key, *latest, Counts(key)};
        return {};
      }
      // Else the table as information_schema shows it now, when it has exactly these types (the
      // race: a later ALTER that keeps every type but renames columns; docs/lake.md).
      if (auto now = TableWithTypes(map.schema, map.table, schema)) {
        staging::SourcePosition since{std::string(ctx.file), ctx.offset, std::string(ctx.gtid)};
        if (latest) ReadAddedDefaults(*latest, since.ToString(), &*now);
        auto version = staging_->RegisterSchema(*now, since);
        if (!version.ok()) return version.status();
        log_("schema of " + key + " changed at " + since.ToString() + ": version " +
                 std::to_string(*version) +
                 " (from information_schema: the binlog carries no column names)",
             false);
        tables_[map.table_id] = TableState{key, std::move(*now), Counts(key)};
        return {};
      }
      return Status::NotSupported(
          "table " + key + " at " + std::string(ctx.file) + ":" + std::to_string(ctx.offset) +
          ": the binlog carries no column names and the columns no longer match the known "
          "schema; set binlog_row_metadata=FULL on the source");
    }
    if (!latest || !latest->SameShape(schema)) {
      staging::SourcePosition since{std::string(ctx.file), ctx.offset, std::string(ctx.gtid)};
      if (latest) ReadAddedDefaults(*latest, since.ToString(), &schema);
      auto version = staging_->RegisterSchema(schema, since);
      if (!version.ok()) return version.status();
      if (latest && metrics_) metrics_->Ddl(key);
      if (latest) {
        log_("schema of " + key + " changed at " + since.ToString() + ": version " +
                 std::to_string(*version),
             false);
      }
    }
    tables_[map.table_id] = TableState{key, schema, Counts(key)};
    return {};
  }

  Status OnRow(const binlog::EventContext& ctx, const binlog::RowChange& row) override {
    if (skipping_ || !options_.filter.Matches(row.table->schema, row.table->table)) return {};
    if (LoadedLater(ctx, row.table->schema, row.table->table)) return {};
    auto it = tables_.find(row.table->table_id);
    if (it == tables_.end()) {
      return Status::Internal("row for " + TableKey(row.table->schema, row.table->table) +
                              " without its table map");
    }
    if (!in_txn_) BL_RETURN_IF_ERROR(Begin(ctx));  // rows outside BEGIN (non-transactional)
    const staging::TableSchema& schema = it->second.schema;
    const std::string& db = row.table->schema;
    const std::string& table = row.table->table;
    switch (row.op) {
      case 'I':
        BL_RETURN_IF_ERROR(Render(ctx, row, row.after, row.after_present, &after_));
        BL_RETURN_IF_ERROR(staging_->Append(db, table, 'I', after_.cells));
        stats_->inserts++;
        if (it->second.counts) Touch(it->second.counts)->inserts++;
        break;
      case 'D':
        BL_RETURN_IF_ERROR(Render(ctx, row, row.before, row.before_present, &before_));
        BL_RETURN_IF_ERROR(staging_->Append(db, table, 'D', before_.cells));
        stats_->deletes++;
        if (it->second.counts) Touch(it->second.counts)->deletes++;
        break;
      default: {
        BL_RETURN_IF_ERROR(Render(ctx, row, row.before, row.before_present, &before_));
        BL_RETURN_IF_ERROR(Render(ctx, row, row.after, row.after_present, &after_));
        // An update that moves the key, or any update without a key, keeps the old identity
        // as a delete of the before-image.
        bool moves = !schema.has_primary_key();
        for (size_t i = 0; i < schema.columns.size() && !moves; i++) {
          if (schema.columns[i].pk_position >= 0 && before_.text[i] != after_.text[i]) {
            moves = true;
          }
        }
        if (moves) {
          BL_RETURN_IF_ERROR(staging_->Append(db, table, 'D', before_.cells));
          BL_RETURN_IF_ERROR(staging_->Append(db, table, 'I', after_.cells));
        } else {
          BL_RETURN_IF_ERROR(staging_->Append(db, table, 'U', after_.cells));
        }
        stats_->updates++;
        if (it->second.counts) Touch(it->second.counts)->updates++;
      }
    }
    return {};
  }

  Status OnCommit(const binlog::EventContext& ctx, uint64_t /*xid*/) override {
    if (skipping_ || !in_txn_) return {};
    if (!ctx.gtid.empty()) last_gtid_.assign(ctx.gtid);
    staging::SourcePosition end{file_, event_end_, last_gtid_};
    in_txn_ = false;
    BL_RETURN_IF_ERROR(staging_->Commit(end));
    stats_->transactions++;
    PublishTransaction();
    if (!reload_.empty()) BL_RETURN_IF_ERROR(LoadRenamed());
    return AtBoundary(end);
  }

  Status OnHeartbeat(const binlog::EventContext& ctx) override {
    if (in_txn_) return {};
    staging::SourcePosition pos{std::string(ctx.file), ctx.header->log_pos, last_gtid_};
    return AtBoundary(pos);
  }

  Status OnQuery(const binlog::EventContext& ctx, std::string_view schema, std::string_view query,
                 bool is_dml) override {
    if (skipping_) return {};
    std::string q(query.substr(0, 160));
    std::replace(q.begin(), q.end(), '\n', ' ');
    std::string where = std::string(ctx.file) + ":" + std::to_string(ctx.offset);
    if (is_dml) {
      log_("statement-based DML at " + where + " in `" + std::string(schema) +
               "` is not captured (set binlog_format=ROW): " + q,
           false);
    } else {
      log_("DDL at " + where + ": " + q, false);
      if (metrics_) metrics_->Ddl("");
      const TableDdl ddl = ReadTableDdl(query, schema);
      BL_RETURN_IF_ERROR(FollowTableDdl(ctx, ddl, where));
      return FollowAlter(ctx, ddl.altered);
    }
    return {};
  }

  // An ALTER of a captured table: the binlog shows its new columns only with the table's next
  // row event (the TABLE_MAP). When this event is the server's last one, before and after reading
  // information_schema, the table there is exactly as the ALTER left it: that becomes the schema
  // version now, with a change file without rows, so the lake follows at once. Otherwise (the
  // capture lags, another event came, files are replayed) the next TABLE_MAP brings the change.
  Status FollowAlter(const binlog::EventContext& ctx, const std::vector<TableName>& altered) {
    for (const auto& n : altered) {
      if (!options_.filter.Matches(n.schema, n.table)) continue;
      const staging::TableSchema* latest = staging_->LatestSchema(n.schema, n.table);
      if (!latest || !options_.binlog_dir.empty()) continue;
      auto now = TableAtThisEvent(ctx, n);
      if (!now || latest->SameShape(*now)) continue;
      staging::SourcePosition since{std::string(ctx.file), ctx.offset, std::string(ctx.gtid)};
      ReadAddedDefaults(*latest, since.ToString(), &*now);
      auto version = staging_->RegisterSchema(*now, since);
      if (!version.ok()) return version.status();
      log_("schema of " + TableKey(n.schema, n.table) + " changed at " + since.ToString() +
               ": version " + std::to_string(*version) + " (from information_schema)",
           false);
      if (!in_txn_) BL_RETURN_IF_ERROR(Begin(ctx));
      BL_RETURN_IF_ERROR(staging_->Touch(n.schema, n.table));
    }
    return {};
  }

  // The table from information_schema when this event ends the server's binlog before and after
  // the read; nullopt otherwise or on any error (the TABLE_MAP path stays).
  std::optional<staging::TableSchema> TableAtThisEvent(const binlog::EventContext& ctx,
                                                       const TableName& n) {
    if (!OpenSql()) return std::nullopt;
    auto at_end = [&] {
      auto rows = sql_->Query("SHOW MASTER STATUS");
      if (!rows.ok()) rows = sql_->Query("SHOW BINARY LOG STATUS");  // MySQL 8.4
      if (!rows.ok() || rows->empty() || (*rows)[0].size() < 2) return false;
      return (*rows)[0][0].value_or("") == ctx.file &&
             (*rows)[0][1].value_or("") == std::to_string(event_end_);
    };
    if (!at_end()) return std::nullopt;
    TableFilter one;
    one.include = {n.schema + "." + n.table};
    auto tables = ListTables(*sql_, one);
    if (!tables.ok() || !at_end()) return std::nullopt;
    for (auto& t : *tables) {
      if (t.schema == n.schema && t.table == n.table) return std::move(t);
    }
    return std::nullopt;
  }

  // The table from information_schema when its columns have the types of `map` (a TABLE_MAP
  // without names); nullopt otherwise, on any error, or when replaying files.
  std::optional<staging::TableSchema> TableWithTypes(const std::string& schema,
                                                     const std::string& table,
                                                     const staging::TableSchema& map) {
    if (!options_.binlog_dir.empty() || !OpenSql()) return std::nullopt;
    TableFilter one;
    one.include = {schema + "." + table};
    auto tables = ListTables(*sql_, one);
    if (!tables.ok()) return std::nullopt;
    for (auto& t : *tables) {
      if (t.schema == schema && t.table == table && SameTypes(t, map)) return std::move(t);
    }
    return std::nullopt;
  }

  bool OpenSql() {
    if (sql_) return true;
    sql_ = std::make_unique<MysqlConn>();
    if (sql_->Open(options_.connection).ok()) return true;
    sql_.reset();
    return false;
  }

  // The values the rows that existed got in the columns a new version adds (ADD COLUMN ...
  // DEFAULT x, or a NOT NULL column's implicit default): the binlog does not carry them, so
  // information_schema is read now. When the table changed again since the TABLE_MAP (the capture
  // lags behind), or a default is an expression, they stay unknown (NULL in the lake), with a line.
  void ReadAddedDefaults(const staging::TableSchema& latest, const std::string& where,
                         staging::TableSchema* schema) {
    std::vector<size_t> added;
    for (size_t i = 0; i < schema->columns.size(); i++) {
      const auto& n = schema->columns[i].name;
      if (std::none_of(latest.columns.begin(), latest.columns.end(),
                       [&](const auto& c) { return c.name == n; })) {
        added.push_back(i);
      }
    }
    if (added.empty()) return;
    const std::string key = TableKey(schema->schema, schema->table);
    auto unknown = [&](const std::string& why) {
      log_("columns added to " + key + " at " + where +
               ": the values of the rows that existed "
               "are not known (" +
               why + "); they are NULL in the lake",
           false);
    };
    if (!options_.binlog_dir.empty()) return unknown("replaying binlog files, no server to ask");
    if (!sql_) {
      sql_ = std::make_unique<MysqlConn>();
      if (Status st = sql_->Open(options_.connection); !st.ok()) {
        sql_.reset();
        return unknown(st.message());
      }
    }
    auto rows = sql_->Query(
        "SELECT COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, LOWER(DATA_TYPE), EXTRA FROM "
        "information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
        SqlQuote(schema->schema) + " AND TABLE_NAME = " + SqlQuote(schema->table) +
        " ORDER BY ORDINAL_POSITION");
    if (!rows.ok()) {
      sql_.reset();
      return unknown(rows.status().message());
    }
    if (rows->size() != schema->columns.size()) return unknown("the table changed again since");
    for (size_t i = 0; i < rows->size(); i++) {
      if ((*rows)[i][0].value_or("") != schema->columns[i].name) {
        return unknown("the table changed again since");
      }
    }
    std::vector<std::string> expressions;
    for (size_t i : added) {
      const auto& r = (*rows)[i];
      auto& c = schema->columns[i];
      auto v = DefaultText(sql_->is_mariadb(), r[1], r[2].value_or("") == "YES", r[3].value_or(""),
                           r[4].value_or(""), c);
      if (!v.ok()) {
        expressions.push_back(c.name + " " + v.status().message());
        continue;
      }
      c.default_value = *v;
    }
    if (!expressions.empty()) {
      std::string list;
      for (const auto& e : expressions) list += (list.empty() ? "" : ", ") + e;
      unknown(list);
    }
  }

  // TRUNCATE / DROP TABLE / RENAME TABLE: the table's lake rows go (a `truncate` change file);
  // a captured table renamed to a new name needs a new full load, which this does not take.
  Status FollowTableDdl(const binlog::EventContext& ctx, const TableDdl& ddl,
                        const std::string& where) {
    for (const auto& n : ddl.emptied) {
      if (!options_.filter.Matches(n.schema, n.table) ||
          !staging_->LatestSchema(n.schema, n.table)) {
        continue;
      }
      if (!in_txn_) BL_RETURN_IF_ERROR(Begin(ctx));
      BL_RETURN_IF_ERROR(staging_->Truncate(n.schema, n.table));
      stats_->truncates++;
      if (metrics_) metrics_->Ddl(TableKey(n.schema, n.table));
    }
    for (const auto& n : ddl.renamed_to) {
      if (!options_.filter.Matches(n.schema, n.table)) continue;
      if (!options_.binlog_dir.empty()) {
        log_("table " + TableKey(n.schema, n.table) + " was renamed from another table at " +
                 where +
                 ": its rows from before the rename are not in the lake (replaying files, no "
                 "server to load it from); reload it with a new full load (binlake run "
                 "--resnapshot)",
             false);
        continue;
      }
      reload_.push_back(n);  // loaded once the statement's transaction is staged
    }
    return {};
  }

  // Tables renamed into the capture: a full load of each from a snapshot taken now (its position
  // S is at or after the RENAME), then a flush, before any later change is staged. The LOAD
  // files' after_sequence covers every change file up to the flush, so the lake applies the load
  // after them; the table's own row events before S are in the load and skipped
  // (docs/staging.md "Re-load").
  Status LoadRenamed() {
    std::vector<TableName> tables;
    tables.swap(reload_);
    BL_ASSIGN_OR_RETURN(auto snapshot, Snapshot::Begin(options_.connection));
    const staging::SourcePosition at = snapshot->position();
    if (!OpenSql()) {
      return Status::Server("cannot read the tables renamed into the capture at " + at.ToString() +
                            ": no connection to the source");
    }
    for (const auto& n : tables) {
      TableFilter one;
      one.include = {n.schema + "." + n.table};
      BL_ASSIGN_OR_RETURN(auto found, ListTables(*sql_, one));
      const staging::TableSchema* table = nullptr;
      for (const auto& t : found) {
        if (t.schema == n.schema && t.table == n.table) table = &t;
      }
      const std::string key = TableKey(n.schema, n.table);
      if (table == nullptr) {  // renamed again, or dropped, since
        log_("table " + key + " (renamed into the capture) is gone at " + at.ToString(), false);
        continue;
      }
      BL_RETURN_IF_ERROR(staging_->RegisterSchema(*table, at).status());
      BL_ASSIGN_OR_RETURN(auto writer, staging_->BeginLoad(n.schema, n.table, at));
      LoadProgress last;
      BL_RETURN_IF_ERROR(snapshot->LoadTable(
          *table, writer.get(),
          [&](const LoadProgress& p) {
            last = p;
            log_(ProgressLine(p), true);
          },
          nullptr));
      BL_RETURN_IF_ERROR(writer->Finish());
      stats_->full_load_rows += writer->rows();
      loaded_at_[key] = at;
      log_("table " + key + " was renamed into the capture: full load of " +
               std::to_string(writer->rows()) + " rows at " + at.ToString(),
           false);
    }
    // The changes staged so far take the sequences the loads' after_sequence counted.
    if (staging_->pending_bytes() > 0) {
      BL_RETURN_IF_ERROR(staging_->Flush(NowMs()));
      stats_->files++;
    }
    return {};
  }

  // A row event of a table loaded at a later position (renamed into the capture): in its load.
  bool LoadedLater(const binlog::EventContext& ctx, const std::string& schema,
                   const std::string& table) const {
    if (loaded_at_.empty()) return false;
    auto it = loaded_at_.find(TableKey(schema, table));
    return it != loaded_at_.end() && Before(ctx.file, ctx.offset, it->second);
  }

  // Flushes what is pending when the policy says so, and stops the stream at this boundary when
  // a stop was requested.
  Status AtBoundary(const staging::SourcePosition& pos) {
    uint64_t now = NowMs();
    bool stopping = stop_requested_ && stop_requested_->load();
    if (staging_->pending_bytes() > 0) {
      if (stopping || staging_->ShouldFlush(now)) {
        const uint64_t bytes = staging_->pending_bytes();
        BL_RETURN_IF_ERROR(staging_->Flush(now));
        stats_->files++;
        if (metrics_) {
          metrics_->Staged(1, bytes, last_commit_s_);
          metrics_->Checkpoint(staging_->checkpoint().position.ToString());
        }
      }
    } else if (!pos.empty() && pos.pos > 4) {
      BL_RETURN_IF_ERROR(staging_->AdvanceIdle(pos));
      if (metrics_ && now - checkpoint_reported_ms_ >= 1000) {
        checkpoint_reported_ms_ = now;
        metrics_->Checkpoint(staging_->checkpoint().position.ToString());
      }
    }
    if (stopping && stream_stop_) stream_stop_->store(true);
    return {};
  }

 private:
  // A table's row changes in the transaction in progress (for the metrics).
  struct TxnCounts {
    const std::string* table = nullptr;  // its key in txn_counts_
    uint64_t inserts = 0, updates = 0, deletes = 0;
    bool touched = false;
  };
  struct TableState {
    std::string key;
    staging::TableSchema schema;
    TxnCounts* counts = nullptr;  // into txn_counts_ (stable); nullptr without metrics
  };

  TxnCounts* Counts(const std::string& key) {
    if (!metrics_) return nullptr;
    auto [it, added] = txn_counts_.try_emplace(key);
    it->second.table = &it->first;
    return &it->second;
  }
  TxnCounts* Touch(TxnCounts* c) {
    if (!c->touched) {
      c->touched = true;
      touched_.push_back(c);
    }
    return c;
  }
  // One report per transaction: the tables it changed and their counts.
  void PublishTransaction() {
    if (!metrics_) return;
    std::vector<ops::TableChanges> changes;
    changes.reserve(touched_.size());
    for (TxnCounts* c : touched_) {
      changes.push_back({*c->table, c->inserts, c->updates, c->deletes});
      *c = TxnCounts{c->table};
    }
    touched_.clear();
    metrics_->Transaction(changes);
  }
  struct RenderedRow {
    std::vector<std::string> text;
    std::vector<staging::Cell> cells;
  };

  Status Begin(const binlog::EventContext& ctx) {
    staging::SourcePosition start{std::string(ctx.file), ctx.offset, std::string(ctx.gtid)};
    uint64_t commit_us = static_cast<uint64_t>(ctx.header->timestamp) * 1000000;
    last_commit_s_ = static_cast<int64_t>(ctx.header->timestamp);
    // Counts of a transaction that never committed (a stream restarted inside it) are dropped.
    for (TxnCounts* c : touched_) *c = TxnCounts{c->table};
    touched_.clear();
    in_txn_ = true;
    return staging_->BeginTransaction(start, commit_us);
  }

  Status Render(const binlog::EventContext& ctx, const binlog::RowChange& row,
                const std::vector<binlog::Value>& values, const std::vector<bool>& present,
                RenderedRow* out) {
    size_t n = values.size();
    out->text.resize(n);
    out->cells.resize(n);
    for (size_t i = 0; i < n; i++) {
      if (!present[i]) {
        return Status::NotSupported(
            TableKey(row.table->schema, row.table->table) + " at " + std::string(ctx.file) + ":" +
            std::to_string(ctx.offset) +
            ": the row image leaves columns out; set binlog_row_image=FULL on the source");
      }
      if (values[i].is_null()) {
        out->cells[i] = staging::Cell{true, {}};
        continue;
      }
      out->text[i].clear();
      BL_RETURN_IF_ERROR(CanonicalText(values[i], &out->text[i]));
      out->cells[i] = staging::Cell{false, out->text[i]};
    }
    return {};
  }

  staging::Staging* staging_;
  const CaptureOptions& options_;
  const std::atomic<bool>* stop_requested_;
  std::atomic<bool>* stream_stop_;
  const CaptureLog& log_;
  CaptureStats* stats_;
  std::unordered_map<uint64_t, TableState> tables_;
  std::unique_ptr<MysqlConn> sql_;  // information_schema, for added columns' defaults
  std::vector<TableName> reload_;   // renamed into the capture in this transaction
  std::map<std::string, staging::SourcePosition> loaded_at_;  // their loads' snapshot positions
  RenderedRow before_, after_;
  bool in_txn_ = false;
  std::string file_;
  uint64_t event_end_ = 0;
  bool in_payload_ = false;
  uint64_t payload_offset_ = 0, payload_end_ = 0;
  staging::SourcePosition skip_until_;
  bool skipping_ = false;
  std::string last_gtid_;  // GTID of the last committed transaction, kept in checkpoints
  ops::Metrics* metrics_ = options_.metrics;
  std::unordered_map<std::string, TxnCounts> txn_counts_;  // "schema.table" -> this txn's counts
  std::vector<TxnCounts*> touched_;
  int64_t last_commit_s_ = 0;  // the binlog timestamp of the newest transaction begun
  uint64_t checkpoint_reported_ms_ = 0;
};

std::string Human(double n) {
  char buf[32];
  if (n >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  } else if (n >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", n);
  }
  return buf;
}

std::string ProgressLine(const LoadProgress& p) {
  double rate = p.seconds > 0 ? p.rows_done / p.seconds : 0;
  std::string line = "full load " + p.table + ": " + Human(static_cast<double>(p.rows_done));
  if (p.rows_estimated > 0) {
    line += "/~" + Human(static_cast<double>(p.rows_estimated)) + " rows";
    double frac = std::min(1.0, static_cast<double>(p.rows_done) / p.rows_estimated);
    int filled = static_cast<int>(frac * 20);
    line = "[" + std::string(filled, '#') + std::string(20 - filled, '.') + "] " + line;
    if (rate > 0 && p.rows_done < p.rows_estimated) {
      line += ", ETA " + std::to_string(static_cast<int>((p.rows_estimated - p.rows_done) / rate)) +
              " s";
    }
  } else {
    line += " rows";
  }
  line += ", " + Human(rate) + " rows/s";
  return line;
}

Status FullLoad(const CaptureOptions& options, staging::Staging* staging,
                const std::atomic<bool>* stop, const CaptureLog& log, CaptureStats* stats,
                bool* completed) {
  *completed = false;
  BL_RETURN_IF_ERROR(staging->ResetFullLoad());
  BL_ASSIGN_OR_RETURN(auto snapshot, Snapshot::Begin(options.connection));
  const staging::SourcePosition& at = snapshot->position();
  BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(options.connection));
  BL_ASSIGN_OR_RETURN(auto tables, ListTables(*client, options.filter));
  log("full load of " + std::to_string(tables.size()) + " tables at snapshot " + at.ToString(),
      false);
  if (options.metrics) {
    for (const auto& t : tables) {
      options.metrics->SetState(TableKey(t.schema, t.table), ops::TableState::kQueued);
    }
  }
  for (const auto& table : tables) {
    BL_RETURN_IF_ERROR(staging->RegisterSchema(table, at).status());
    BL_ASSIGN_OR_RETURN(auto writer, staging->BeginLoad(table.schema, table.table, at));
    LoadProgress last;
    auto progress = [&](const LoadProgress& p) {
      last = p;
      log(ProgressLine(p), true);
      if (options.metrics)
        options.metrics->FullLoadProgress(p.table, p.rows_done, p.rows_estimated);
    };
    Status loaded = snapshot->LoadTable(table, writer.get(), progress, stop);
    // A stop in the middle of a table is a clean stop, not an error (the load starts over).
    if (!loaded.ok() && !(stop && stop->load())) return loaded;
    if (stop && stop->load()) {
      log("full load stopped; it starts over on the next run", false);
      return {};
    }
    BL_RETURN_IF_ERROR(writer->Finish());
    stats->full_load_rows += writer->rows();
    if (options.metrics) {
      options.metrics->FullLoadDone(TableKey(table.schema, table.table), writer->rows());
    }
    log("full load " + TableKey(table.schema, table.table) + ": " + std::to_string(writer->rows()) +
            " rows in " + std::to_string(last.seconds).substr(0, 5) + " s",
        false);
  }
  BL_RETURN_IF_ERROR(staging->FinishFullLoad(at));
  *completed = true;
  if (options.metrics) {
    for (const auto& t : tables) {
      options.metrics->SetState(TableKey(t.schema, t.table), ops::TableState::kReplicating);
    }
  }
  return {};
}

// Binlog files of a folder in order (name.000001, name.000002, ...).
Result<std::vector<std::string>> BinlogFiles(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (!d) return Status::IOError("cannot read --from-binlog-files folder " + dir);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    size_t dot = n.rfind('.');
    if (dot == std::string::npos || dot + 1 == n.size()) continue;
    bool digits = std::all_of(n.begin() + static_cast<long>(dot) + 1, n.end(),
                              [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) continue;
    // Data folders hold other numbered files (aria_log.00000001): only binlogs start with the
    // magic.
    char magic[4] = {};
    if (FILE* f = std::fopen((dir + "/" + n).c_str(), "rb")) {
      size_t got = std::fread(magic, 1, 4, f);
      std::fclose(f);
      if (got == 4 && std::string_view(magic, 4) == std::string_view("\xfe"
                                                                     "bin",
                                                                     4)) {
        files.push_back(n);
      }
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return Status::NotFound("no binlog files (name.NNNNNN) in " + dir);
  }
  return files;
}

// The binlog files the server still has, oldest first (SHOW BINARY LOGS).
Result<std::vector<std::string>> ServerBinlogs(const binlog::ConnectionOptions& conn) {
  BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(conn));
  BL_ASSIGN_OR_RETURN(auto rows, client->Query("SHOW BINARY LOGS"));
  std::vector<std::string> files;
  for (const auto& r : rows) {
    if (!r.empty() && r[0]) files.push_back(*r[0]);
  }
  return files;
}

// Whether binlog `file` is gone: not listed, and before the oldest listed file of its name
// (`name.000012`: the number orders; the server purges oldest first).
bool Purged(const std::string& file, const std::vector<std::string>& logs) {
  if (logs.empty() || std::find(logs.begin(), logs.end(), file) != logs.end()) return false;
  const std::string& oldest = logs.front();
  const size_t a = file.rfind('.'), b = oldest.rfind('.');
  if (a == std::string::npos || b == std::string::npos || file.compare(0, a, oldest, 0, b) != 0 ||
      a != b) {
    return false;  // another name: not ours to judge, the server says what it has
  }
  const std::string na = file.substr(a + 1), nb = oldest.substr(b + 1);
  return na.size() < nb.size() || (na.size() == nb.size() && na < nb);
}

std::string Needs(const staging::SourcePosition& p) {
  return p.ToString() + (p.gtid.empty() ? "" : " (GTID " + p.gtid + ")");
}

// Where the stream must start, when the server no longer has it: the oldest binlog it has.
Result<std::optional<std::string>> PurgedCheckpoint(const binlog::ConnectionOptions& conn,
                                                    const staging::SourcePosition& resume) {
  BL_ASSIGN_OR_RETURN(auto logs, ServerBinlogs(conn));
  if (!Purged(resume.file, logs)) return std::optional<std::string>();
  return std::optional<std::string>(logs.front());
}

// The server refused to stream (error 1236, e.g. on a reconnect after a purge): the same line as
// the check at start when the checkpoint's binlog (or the start GTID) is gone.
Status MapUnavailable(const binlog::ConnectionOptions& conn, const staging::SourcePosition& cp,
                      const binlog::StartPosition& start, Status st) {
  if (!binlog::IsBinlogUnavailable(st)) return st;
  auto logs = ServerBinlogs(conn);
  if (!logs.ok() || logs->empty()) return st;
  if (!cp.empty()) {
    return Purged(cp.file, *logs) ? PurgedBinlogError("the checkpoint", Needs(cp), logs->front())
                                  : st;
  }
  // MariaDB: "... required binlog files have been purged."
  if (!start.gtid.empty() && st.message().find("purged") != std::string::npos) {
    return PurgedBinlogError("the start", "GTID " + start.gtid, logs->front());
  }
  return st;
}

}  // namespace

Status PurgedBinlogError(const std::string& what, const std::string& needs,
                         const std::string& oldest) {
  return Status::Server("the binlog the capture must resume from is gone: " + what + " needs " +
                        needs + ", but the oldest binlog the server still has is " + oldest +
                        " (SHOW BINARY LOGS; the ones before it were purged). Recover with "
                        "--resnapshot (or [capture] when_purged = \"resnapshot\"): a new full "
                        "load of every captured table, then the changes from there");
}

Result<MigrationType> ParseMigrationType(const std::string& s) {
  if (s == "full-load") return MigrationType::kFullLoad;
  if (s == "cdc") return MigrationType::kCdc;
  if (s == "full-load-and-cdc") return MigrationType::kFullLoadAndCdc;
  return Status::InvalidArgument("migration type '" + s +
                                 "' is not one of full-load, cdc, full-load-and-cdc");
}

Status RunCapture(const CaptureOptions& options, const std::atomic<bool>* stop,
                  const CaptureLog& log, CaptureStats* stats) {
  // The interval promises that no change waits longer; the timer starts when the first pending
  // commit is seen and the write takes time too, so the timer runs a tenth shorter.
  staging::FlushPolicy flush = options.flush;
  flush.interval_ms -= flush.interval_ms / 10;
  BL_ASSIGN_OR_RETURN(auto staging, staging::Staging::Open(options.staging_root, options.store,
                                                           options.csv, flush, options.spool_dir));
  bool replay = !options.binlog_dir.empty();
  bool load = options.migration != MigrationType::kCdc && !staging->checkpoint().full_load_done;
  if (options.metrics) {
    // The tables staged before this start, as the DMS console lists them at once.
    for (const auto& [key, version] : staging->checkpoint().schema_versions) {
      options.metrics->SetState(key,
                                load ? ops::TableState::kQueued : ops::TableState::kReplicating);
    }
    if (!staging->checkpoint().position.empty()) {
      options.metrics->Checkpoint(staging->checkpoint().position.ToString());
    }
  }
  const staging::SourcePosition resume = staging->checkpoint().position;
  std::optional<std::string> oldest;  // the oldest binlog left, when the checkpoint's is purged
  if (!load && !replay && !resume.empty() && options.migration != MigrationType::kFullLoad) {
    // The binlog the checkpoint needs must still be on the server: else stop before anything
    // (the preflight's warnings included) is written, or take a new full load (its LOAD files
    // follow every change file staged so far). A server that cannot list its binlogs is left to
    // the preflight.
    auto purged = PurgedCheckpoint(options.connection, resume);
    if (purged.ok()) oldest = *purged;
    if (oldest && !options.resnapshot) {
      return PurgedBinlogError("the checkpoint", Needs(resume), *oldest);
    }
  }
  if (!options.skip_preflight && !replay) {
    BL_ASSIGN_OR_RETURN(auto report,
                        RunPreflight(options.connection, options.filter, options.preflight));
    for (const auto& p : report.problems) {
      log(std::string(p.error ? "error: " : "warning: ") + p.what + " (fix: " + p.fix + ")", false);
    }
    if (!report.ok()) {
      return Status::InvalidArgument("preflight failed: fix the errors above (binlake check)");
    }
  }

  if (oldest) {
    log("the checkpoint needs " + Needs(resume) + ", but the oldest binlog on the server is " +
            *oldest + ": taking a new full load (resnapshot)",
        false);
    load = true;
  }
  if (load) {
    if (replay) {
      return Status::InvalidArgument(
          "--from-binlog-files replays changes only: use migration_type = \"cdc\"");
    }
    bool completed = false;
    BL_RETURN_IF_ERROR(FullLoad(options, staging.get(), stop, log, stats, &completed));
    if (!completed) return {};
  }
  if (options.migration == MigrationType::kFullLoad) return {};
  if (stop && stop->load()) return {};

  // Where the stream starts: the checkpoint, else the configured start, else now.
  binlog::StartPosition start;
  const staging::Checkpoint& cp = staging->checkpoint();
  if (!cp.position.empty()) {
    start.file = cp.position.file;
    start.pos = cp.position.pos;
  } else if (!replay) {
    start = options.cdc_start;
    if (start.file.empty() && start.gtid.empty()) {
      BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(options.connection));
      BL_ASSIGN_OR_RETURN(start, client->CurrentPosition());
    }
    // Tables must be known before their first change (and names without FULL metadata).
    BL_ASSIGN_OR_RETURN(auto client, binlog::BinlogClient::Connect(options.connection));
    BL_ASSIGN_OR_RETURN(auto tables, ListTables(*client, options.filter));
    staging::SourcePosition since{start.file, start.pos, start.gtid};
    for (const auto& t : tables) BL_RETURN_IF_ERROR(staging->RegisterSchema(t, since).status());
  }

  std::atomic<bool> stream_stop{false};
  CaptureSink sink(staging.get(), options, stop, &stream_stop, log, stats);
  binlog::Decoder decoder;

  if (replay) {
    BL_ASSIGN_OR_RETURN(auto files, BinlogFiles(options.binlog_dir));
    if (!cp.position.empty()) sink.SkipUntil(cp.position);
    for (const auto& f : files) {
      if (!cp.position.empty() && f < cp.position.file) continue;
      log("replaying " + f, false);
      BL_RETURN_IF_ERROR(binlog::DecodeBinlogFile(options.binlog_dir + "/" + f, &decoder, &sink));
      if (stream_stop.load()) break;
    }
    if (staging->pending_bytes() > 0) BL_RETURN_IF_ERROR(staging->Flush(NowMs()));
    return {};
  }

  log("streaming changes from " + (start.gtid.empty() ? start.file + ":" + std::to_string(start.pos)
                                                      : "GTID " + start.gtid),
      false);
  binlog::ConnectionOptions conn = options.connection;
  // Heartbeats drive the flush timer and the stop check while the source is idle.
  conn.heartbeat_period_ms = std::max<uint32_t>(
      50, std::min<uint32_t>(conn.heartbeat_period_ms,
                             std::max<uint32_t>(options.flush.interval_ms / 4, 1)));
  binlog::StreamOptions sopts;
  sopts.max_reconnect_attempts = options.max_reconnect_attempts;
  binlog::BinlogStream stream(conn, sopts);
  // A stop while the connection is down (no events arrive to notice it) ends the reconnect loop.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (stop && stop->load() && !sink.in_transaction()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2000));
        stream_stop.store(true);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  Status st = stream.Run(start, &decoder, &sink, &stream_stop);
  done.store(true);
  watcher.join();
  if (!st.ok()) return MapUnavailable(options.connection, cp.position, start, std::move(st));
  if (sink.in_transaction()) {
    // Stopped inside a transaction: what it appended is not committed; drop it.
    BL_RETURN_IF_ERROR(staging->AbortTransaction());
  }
  if (staging->pending_bytes() > 0) BL_RETURN_IF_ERROR(staging->Flush(NowMs()));
  return {};
}

}  // namespace binlake::source
