// Event header, ROTATE and checksum: the small pieces the stream client and the decoder share.
#include "binlog/event.h"

#include <zlib.h>

#include "util/byte_reader.h"

namespace binlake::binlog {

const char* EventTypeName(uint8_t type) {
  switch (type) {
    case kStartV3:
      return "START_V3";
    case kQuery:
      return "QUERY";
    case kStop:
      return "STOP";
    case kRotate:
      return "ROTATE";
    case kIntvar:
      return "INTVAR";
    case kSlave:
      return "SLAVE";
    case kAppendBlock:
      return "APPEND_BLOCK";
    case kDeleteFile:
      return "DELETE_FILE";
    case kRand:
      return "RAND";
    case kUserVar:
      return "USER_VAR";
    case kFormatDescription:
      return "FORMAT_DESCRIPTION";
    case kXid:
      return "XID";
    case kBeginLoadQuery:
      return "BEGIN_LOAD_QUERY";
    case kExecuteLoadQuery:
      return "EXECUTE_LOAD_QUERY";
    case kTableMap:
      return "TABLE_MAP";
    case kWriteRowsV0:
      return "WRITE_ROWS_V0";
    case kUpdateRowsV0:
      return "UPDATE_ROWS_V0";
    case kDeleteRowsV0:
      return "DELETE_ROWS_V0";
    case kWriteRowsV1:
      return "WRITE_ROWS_V1";
    case kUpdateRowsV1:
      return "UPDATE_ROWS_V1";
    case kDeleteRowsV1:
      return "DELETE_ROWS_V1";
    case kIncident:
      return "INCIDENT";
    case kHeartbeat:
      return "HEARTBEAT";
    case kIgnorable:
      return "IGNORABLE";
    case kRowsQuery:
      return "ROWS_QUERY";
    case kWriteRowsV2:
      return "WRITE_ROWS_V2";
    case kUpdateRowsV2:
      return "UPDATE_ROWS_V2";
    case kDeleteRowsV2:
      return "DELETE_ROWS_V2";
    case kGtid:
      return "GTID";
    case kAnonymousGtid:
      return "ANONYMOUS_GTID";
    case kPreviousGtids:
      return "PREVIOUS_GTIDS";
    case kTransactionContext:
      return "TRANSACTION_CONTEXT";
    case kViewChange:
      return "VIEW_CHANGE";
    case kXaPrepare:
      return "XA_PREPARE";
    case kPartialUpdateRows:
      return "PARTIAL_UPDATE_ROWS";
    case kTransactionPayload:
      return "TRANSACTION_PAYLOAD";
    case kHeartbeatV2:
      return "HEARTBEAT_V2";
    case kGtidTagged:
      return "GTID_TAGGED";
    case kAnnotateRows:
      return "ANNOTATE_ROWS";
    case kBinlogCheckpoint:
      return "BINLOG_CHECKPOINT";
    case kMariaGtid:
      return "MARIADB_GTID";
    case kMariaGtidList:
      return "MARIADB_GTID_LIST";
    case kStartEncryption:
      return "START_ENCRYPTION";
    case kQueryCompressed:
      return "QUERY_COMPRESSED";
    case kWriteRowsCompressedV1:
      return "WRITE_ROWS_COMPRESSED_V1";
    case kUpdateRowsCompressedV1:
      return "UPDATE_ROWS_COMPRESSED_V1";
    case kDeleteRowsCompressedV1:
      return "DELETE_ROWS_COMPRESSED_V1";
    case kWriteRowsCompressed:
      return "WRITE_ROWS_COMPRESSED";
    case kUpdateRowsCompressed:
      return "UPDATE_ROWS_COMPRESSED";
    case kDeleteRowsCompressed:
      return "DELETE_ROWS_COMPRESSED";
    default:
      return "UNKNOWN";
  }
}

Status ParseEventHeader(std::string_view raw, EventHeader* out) {
  ByteReader r(raw);
  uint8_t type;
  if (!r.ReadU32(&out->timestamp) || !r.ReadU8(&type) || !r.ReadU32(&out->server_id) ||
      !r.ReadU32(&out->event_size) || !r.ReadU32(&out->log_pos) || !r.ReadU16(&out->flags)) {
    return Status::Corruption("truncated event header (" + std::to_string(raw.size()) +
                              " of 19 bytes)");
  }
  out->type = type;
  if (out->event_size < kEventHeaderSize) {
    return Status::Corruption("impossible event size " + std::to_string(out->event_size));
  }
  if (out->event_size > raw.size()) {
    return Status::Corruption("truncated " + std::string(EventTypeName(type)) + " event: size " +
                              std::to_string(out->event_size) + " but only " +
                              std::to_string(raw.size()) + " bytes");
  }
  return {};
}

Status ParseRotateBody(std::string_view body, RotateEvent* out) {
  ByteReader r(body);
  if (!r.ReadU64(&out->position)) return Status::Corruption("truncated ROTATE event");
  out->next_file.assign(body.substr(8));
  if (out->next_file.empty()) return Status::Corruption("ROTATE event without a file name");
  return {};
}

uint32_t Crc32(std::string_view data) {
  uLong c = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed in chunks so events over 4 GiB cannot overflow.
  while (!data.empty()) {
    size_t n = std::min<size_t>(data.size(), 1u << 30);
    c = crc32(c, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(n));
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

}  // namespace binlake::binlog
