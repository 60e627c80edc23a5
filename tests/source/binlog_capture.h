// Test helper: decodes the binlog between two positions and keeps each table's maps and inserts.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "binlog/client.h"
#include "binlog/decoder.h"
#include "binlog/stream.h"
#include "source/source.h"
#include "staging/staging.h"

namespace binlake::source::testing {

using TextRow = std::vector<std::optional<std::string>>;

// Collects TABLE_MAPs and the canonical text of inserted rows, per "schema.table".
class CaptureSink : public binlog::EventSink {
 public:
  CaptureSink(binlog::StartPosition to, std::atomic<bool>* stop)
      : to_(std::move(to)), stop_(stop) {}

  Status OnEvent(const binlog::EventContext& ctx) override {
    if (ctx.file == to_.file && ctx.offset + ctx.header->event_size >= to_.pos) stop_->store(true);
    return {};
  }
  Status OnTableMap(const binlog::EventContext&, const binlog::TableMap& map) override {
    maps[map.schema + "." + map.table] = map;
    return {};
  }
  Status OnRow(const binlog::EventContext&, const binlog::RowChange& row) override {
    const std::string name = row.table->schema + "." + row.table->table;
    if (row.op != 'I') {
      others[name]++;
      return {};
    }
    TextRow out(row.after.size());
    std::string text;
    for (size_t i = 0; i < row.after.size(); i++) {
      if (row.after[i].is_null()) continue;
      BL_RETURN_IF_ERROR(CanonicalText(row.after[i], &text));
      out[i] = text;
    }
    inserts[name].push_back(std::move(out));
    return {};
  }

  std::map<std::string, binlog::TableMap> maps;
  std::map<std::string, std::vector<TextRow>> inserts;
  std::map<std::string, int> others;  // updates and deletes seen

 private:
  binlog::StartPosition to_;
  std::atomic<bool>* stop_;
};

// Decodes [from, to) into `sink`.
inline Status Capture(const binlog::ConnectionOptions& options, const binlog::StartPosition& from,
                      const binlog::StartPosition& to, CaptureSink** sink_out,
                      std::unique_ptr<CaptureSink>* holder) {
  std::atomic<bool> stop{from.file == to.file && from.pos >= to.pos};
  *holder = std::make_unique<CaptureSink>(to, &stop);
  *sink_out = holder->get();
  if (stop) return Status::Ok();
  binlog::StreamOptions so;
  so.max_reconnect_attempts = 0;
  binlog::BinlogStream stream(options, so);
  binlog::Decoder decoder;
  return stream.Run(from, &decoder, holder->get(), &stop);
}

// A LoadWriter that keeps the rows in memory (or only counts them).
class MemoryLoadWriter : public staging::LoadWriter {
 public:
  explicit MemoryLoadWriter(bool keep = true) : keep_(keep) {}
  Status AppendRow(std::span<const staging::Cell> cells) override {
    rows_++;
    for (const auto& c : cells) bytes_ += c.text.size();
    if (!keep_) return {};
    TextRow r(cells.size());
    for (size_t i = 0; i < cells.size(); i++) {
      if (!cells[i].is_null) r[i] = std::string(cells[i].text);
    }
    data.push_back(std::move(r));
    return {};
  }
  Status Finish() override { return {}; }
  uint64_t rows() const override { return rows_; }
  uint64_t bytes() const { return bytes_; }

  std::vector<TextRow> data;

 private:
  bool keep_;
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace binlake::source::testing
