// Binlog event types, the common header, and the typed events the decoder produces.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "binlog/value.h"
#include "util/status.h"

namespace binlake::binlog {

enum EventType : uint8_t {
  kUnknownEvent = 0,
  kStartV3 = 1,
  kQuery = 2,
  kStop = 3,
  kRotate = 4,
  kIntvar = 5,
  kSlave = 7,
  kAppendBlock = 9,
  kDeleteFile = 11,
  kRand = 13,
  kUserVar = 14,
  kFormatDescription = 15,
  kXid = 16,
  kBeginLoadQuery = 17,
  kExecuteLoadQuery = 18,
  kTableMap = 19,
  kWriteRowsV0 = 20,
  kUpdateRowsV0 = 21,
  kDeleteRowsV0 = 22,
  kWriteRowsV1 = 23,
  kUpdateRowsV1 = 24,
  kDeleteRowsV1 = 25,
  kIncident = 26,
  kHeartbeat = 27,
  kIgnorable = 28,
  kRowsQuery = 29,
  kWriteRowsV2 = 30,
  kUpdateRowsV2 = 31,
  kDeleteRowsV2 = 32,
  kGtid = 33,
  kAnonymousGtid = 34,
  kPreviousGtids = 35,
  kTransactionContext = 36,
  kViewChange = 37,
  kXaPrepare = 38,
  kPartialUpdateRows = 39,
  kTransactionPayload = 40,
  kHeartbeatV2 = 41,
  kGtidTagged = 42,
  // MariaDB
  kAnnotateRows = 160,
  kBinlogCheckpoint = 161,
  kMariaGtid = 162,
  kMariaGtidList = 163,
  kStartEncryption = 164,
  kQueryCompressed = 165,
  kWriteRowsCompressedV1 = 166,
  kUpdateRowsCompressedV1 = 167,
  kDeleteRowsCompressedV1 = 168,
  kWriteRowsCompressed = 169,
  kUpdateRowsCompressed = 170,
  kDeleteRowsCompressed = 171,
};

const char* EventTypeName(uint8_t type);

constexpr size_t kEventHeaderSize = 19;
constexpr uint16_t kLogEventArtificialFlag = 0x20;
constexpr uint16_t kLogEventBinlogInUseFlag = 0x01;

struct EventHeader {
  uint32_t timestamp = 0;
  uint8_t type = 0;
  uint32_t server_id = 0;
  uint32_t event_size = 0;  // header + body + checksum
  uint32_t log_pos = 0;     // position of the next event (0 for artificial/relay events)
  uint16_t flags = 0;
};

// Parses the 19-byte common header; Corruption if `raw` is shorter than that or than event_size.
Status ParseEventHeader(std::string_view raw, EventHeader* out);

// ROTATE body (after the header, checksum excluded): the next file and position.
struct RotateEvent {
  uint64_t position = 4;
  std::string next_file;
};
Status ParseRotateBody(std::string_view body, RotateEvent* out);

// CRC32 (zlib polynomial) as the binlog checksum uses it.
uint32_t Crc32(std::string_view data);

// A column-level description of a table at one point of the binlog.
struct TableMap {
  uint64_t table_id = 0;
  std::string schema;
  std::string table;
  std::vector<ColumnDef> columns;
  bool has_names = false;  // column names came from FULL metadata
};

// One row change, decoded. `before` for U/D, `after` for I/U; the present bitmaps say which columns
// the row image carries (MINIMAL/NOBLOB images leave some out; absent columns are not NULL, they
// are unknown and are left out of the JSON).
struct RowChange {
  char op = 'I';  // 'I', 'U', 'D'
  const TableMap* table = nullptr;
  std::vector<Value> before;
  std::vector<bool> before_present;
  std::vector<Value> after;
  std::vector<bool> after_present;
};

}  // namespace binlake::binlog
