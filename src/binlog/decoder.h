// The event decoder: raw binlog events (from a file or the socket) -> typed events and row changes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "binlog/event.h"
#include "util/status.h"

namespace binlake::binlog {

// Where an event came from and the transaction it belongs to.
struct EventContext {
  std::string_view file;  // binlog file name
  uint64_t offset = 0;    // offset of the event in that file (of the enclosing payload event
                          // for events inside a MySQL TRANSACTION_PAYLOAD)
  const EventHeader* header = nullptr;
  std::string_view gtid;  // GTID of the current transaction ("0-1-42" or "uuid:n"), "" if none
};

// Receives what the decoder finds. Every callback may return an error to stop decoding.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Every event, before its type-specific callback (events inside a payload too).
  virtual Status OnEvent(const EventContext& /*ctx*/) { return {}; }
  virtual Status OnTableMap(const EventContext& /*ctx*/, const TableMap& /*map*/) { return {}; }
  virtual Status OnRow(const EventContext& ctx, const RowChange& row) = 0;
  // A transaction starts (GTID event, or a BEGIN query).
  virtual Status OnBegin(const EventContext& /*ctx*/) { return {}; }
  // A transaction ends (XID, COMMIT query, or a standalone GTID group's last event). `xid` is 0 for
  // non-XA commits.
  virtual Status OnCommit(const EventContext& /*ctx*/, uint64_t /*xid*/) { return {}; }
  // A statement that is not BEGIN/COMMIT (DDL, or statement-based DML, which binlake cannot apply).
  virtual Status OnQuery(const EventContext& /*ctx*/, std::string_view /*schema*/,
                         std::string_view /*query*/, bool /*is_dml*/) {
    return {};
  }
  virtual Status OnRotate(const EventContext& /*ctx*/, const RotateEvent& /*rotate*/) { return {}; }
  virtual Status OnHeartbeat(const EventContext& /*ctx*/) { return {}; }
};

struct DecoderOptions {
  // Verify the CRC32 of every event when the FORMAT_DESCRIPTION says events carry one.
  bool verify_checksum = true;
  // Decode row values; when false, OnRow still fires with op and table but empty images.
  bool decode_rows = true;
  // Largest decompressed event accepted (MySQL's max_allowed_packet is at most 1 GiB); a corrupt
  // length above it is an error instead of an allocation.
  size_t max_event_size = size_t{1} << 30;
};

// One decoder per stream or file sequence: it keeps the FORMAT_DESCRIPTION and the table maps.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // The binlog file the next events come from (used in positions and error messages).
  void SetFile(std::string file);
  const std::string& file() const { return file_; }

  // Decodes one raw event: common header + body (+ 4-byte CRC32 when checksums are on).
  // Errors name the file, offset and event type.
  Status Decode(std::string_view raw, uint64_t offset, EventSink* sink);

  // Forgets table maps and the transaction state (after a reconnect), keeps the format.
  void ResetTransactionState();

  bool checksum_enabled() const { return checksum_alg_ == 1; }
  bool in_transaction() const { return in_transaction_; }
  const std::string& current_gtid() const { return gtid_; }
  const std::string& server_version() const { return server_version_; }

 private:
  Status DecodeInner(std::string_view raw, uint64_t offset, EventSink* sink, bool in_payload);
  Status DecodeBody(const EventHeader& h, std::string_view body, const EventContext& ctx,
                    EventSink* sink, bool in_payload);
  Status DecodeFormatDescription(std::string_view body);
  Status DecodeQuery(const EventHeader& h, std::string_view body, const EventContext& ctx,
                     EventSink* sink);
  Status DecodeTableMap(std::string_view body, const EventContext& ctx, EventSink* sink);
  Status DecodeRows(const EventHeader& h, std::string_view body, const EventContext& ctx,
                    EventSink* sink);
  Status DecodePayload(std::string_view body, const EventContext& ctx, EventSink* sink);
  // Decodes the whole events at the front of `events`; `used` is how many bytes they took.
  Status DecodePayloadEvents(std::string_view events, const EventContext& ctx, EventSink* sink,
                             size_t* used);
  Status DecodeMariaGtid(std::string_view body, const EventHeader& h, const EventContext& ctx,
                         EventSink* sink);
  Status DecodeMysqlGtid(std::string_view body, bool tagged, const EventContext& ctx,
                         EventSink* sink);
  Status Commit(const EventContext& ctx, uint64_t xid, EventSink* sink);

  DecoderOptions options_;
  std::string file_;
  uint8_t binlog_version_ = 4;
  uint8_t checksum_alg_ = 0;  // 0 none, 1 CRC32
  bool have_fde_ = false;
  std::string server_version_;
  std::vector<uint8_t> post_header_len_;  // indexed by event type - 1
  std::unordered_map<uint64_t, std::unique_ptr<TableMap>> tables_;
  bool in_transaction_ = false;
  bool standalone_group_ = false;  // MariaDB GTID with FL_STANDALONE: ends after one event
  std::string gtid_;
  RowChange row_;                // reused for every row
  std::string scratch_;          // decompressed MariaDB rows
  std::string scratch_payload_;  // decompressed MySQL transaction payload, one chunk at a time
};

// Reads a binlog file (magic `\xfebin` then events) and feeds every event to the decoder.
// A truncated or corrupt file stops with an error naming the file and offset.
Status DecodeBinlogFile(const std::string& path, Decoder* decoder, EventSink* sink);
// Same, for binlog bytes already in memory; `name` is the file name used in positions and errors.
Status DecodeBinlogBuffer(std::string_view data, const std::string& name, Decoder* decoder,
                          EventSink* sink);

}  // namespace binlake::binlog
