// Column definitions from TABLE_MAP and the decoded, exact value of one cell.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/byte_reader.h"
#include "util/status.h"

namespace binlake::binlog {

// MySQL/MariaDB binlog column type codes (enum_field_types).
enum ColumnType : uint8_t {
  kTypeDecimal = 0,  // old DECIMAL (pre 5.0); not written by supported servers
  kTypeTiny = 1,
  kTypeShort = 2,
  kTypeLong = 3,
  kTypeFloat = 4,
  kTypeDouble = 5,
  kTypeNull = 6,
  kTypeTimestamp = 7,  // old TIMESTAMP (4 bytes, seconds)
  kTypeLongLong = 8,
  kTypeInt24 = 9,
  kTypeDate = 10,
  kTypeTime = 11,      // old TIME (3 bytes, HHMMSS)
  kTypeDateTime = 12,  // old DATETIME (8 bytes, YYYYMMDDHHMMSS)
  kTypeYear = 13,
  kTypeNewDate = 14,
  kTypeVarchar = 15,
  kTypeBit = 16,
  kTypeTimestamp2 = 17,
  kTypeDateTime2 = 18,
  kTypeTime2 = 19,
  kTypeTypedArray = 20,  // MySQL 8 internal (multi-valued index); never in row data
  kTypeVector = 242,     // MySQL 9 VECTOR
  kTypeInvalid = 243,
  kTypeBool = 244,
  kTypeJson = 245,
  kTypeNewDecimal = 246,
  kTypeEnum = 247,
  kTypeSet = 248,
  kTypeTinyBlob = 249,
  kTypeMediumBlob = 250,
  kTypeLongBlob = 251,
  kTypeBlob = 252,
  kTypeVarString = 253,
  kTypeString = 254,
  kTypeGeometry = 255,
};

const char* ColumnTypeName(uint8_t type);

// One column of a table as the TABLE_MAP event (and its optional metadata) describes it.
//
// `type` is the resolved type: a column logged as kTypeString whose metadata says ENUM or SET has
// type kTypeEnum / kTypeSet here. `meta` holds the per-type metadata from the TABLE_MAP:
//   FLOAT, DOUBLE: pack length (4/8)              BLOB, GEOMETRY, JSON: length-prefix bytes (1..4)
//   TIMESTAMP2, DATETIME2, TIME2: fsp (0..6)      VARCHAR, VAR_STRING: max length in bytes
//   NEWDECIMAL: (precision << 8) | scale          BIT: (bits % 8 << 8) | whole bytes
//   STRING: max length in bytes (decoded from the 2 meta bytes, lengths > 255 included)
//   ENUM, SET: pack length in bytes (ENUM 1..2, SET 1..8)
//   all others: 0
struct ColumnDef {
  uint8_t type = kTypeNull;
  uint16_t meta = 0;
  bool nullable = true;

  // Optional metadata (binlog_row_metadata=MINIMAL/FULL); empty/0/false when the server did not
  // send it.
  std::string name;          // FULL only; empty when unknown (printed as @1, @2, ...)
  bool is_unsigned = false;  // numeric columns; false when unknown
  uint32_t collation = 0;    // character columns: collation id; 0 = unknown. 63 = binary.
  std::vector<std::string> enum_values;  // ENUM names (FULL only)
  std::vector<std::string> set_values;   // SET names (FULL only)
  uint32_t geometry_type = 0;
  bool in_primary_key = false;
  int primary_key_position = -1;  // 0-based position in the primary key; -1 if not part of it
  bool visible = true;            // MySQL 8.0.23+ invisible columns
};

// A calendar value as MySQL stores it; zero dates (0000-00-00) are representable.
struct Temporal {
  int32_t year = 0;
  uint8_t month = 0;
  uint8_t day = 0;
  uint32_t hour = 0;  // TIME goes to 838
  uint8_t minute = 0;
  uint8_t second = 0;
  uint32_t micros = 0;
  bool negative = false;  // TIME only
};

enum class ValueKind : uint8_t {
  kNull,
  kInt,        // i: TINYINT..BIGINT signed
  kUInt,       // u: TINYINT..BIGINT UNSIGNED
  kFloat,      // d: FLOAT (value is exactly the float widened to double)
  kDouble,     // d: DOUBLE
  kDecimal,    // text: exact decimal text, "-123.4500" with exactly `scale` fraction digits
  kYear,       // u: 0 or 1901..2155
  kDate,       // t
  kDateTime,   // t
  kTimestamp,  // i: seconds since the epoch (UTC), t.micros: fraction; 0 is the zero timestamp
  kTime,       // t: hour 0..838, negative flag
  kString,     // text: UTF-8 (converted from the column charset)
  kBytes,      // text: raw bytes (BINARY, VARBINARY, BLOB, binary-charset strings)
  kEnum,       // u: 1-based index (0 = the '' error value); text: the name when metadata has it
  kSet,        // u: bitmask; text: comma-joined names when metadata has them
  kBit,        // u: the bits as an unsigned integer; meta gives the width
  kJson,       // text: JSON text
  kGeometry,   // u: SRID; text: WKB bytes
  kJsonDiff,   // text: JSON array of MySQL partial-update diffs, when the before-image is absent
};

// One decoded cell. Rows reuse Value objects, so strings keep their capacity across rows.
struct Value {
  ValueKind kind = ValueKind::kNull;
  uint8_t fsp = 0;  // fractional-second digits of DATETIME/TIMESTAMP/TIME (0..6)
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  Temporal t;
  std::string text;
  bool names_known = false;  // kEnum/kSet: text holds the names

  bool is_null() const { return kind == ValueKind::kNull; }
  void SetNull() { kind = ValueKind::kNull; }

  // The value as MySQL's text protocol prints it in a SELECT (TIMESTAMP in UTC, time_zone='+00:00';
  // bytes raw; BIT as its integer; ENUM/SET as names when known, else the number). NULL -> "NULL".
  std::string ToText() const;
  // Appends the value as JSON: numbers as numbers (DECIMAL as a string, to stay exact), temporal
  // values as strings, strings as JSON strings, bytes as "base64:<...>", JSON columns inline,
  // GEOMETRY as {"srid":N,"wkb":"<hex>"}, NULL as null.
  void AppendJson(std::string* out) const;
};

// Decodes one non-NULL cell of `col` from `r` into `out`. Every read is bounds-checked; a short or
// impossible encoding is a Corruption naming the column type, never a crash.
Status DecodeCell(const ColumnDef& col, ByteReader& r, Value* out);

// Decodes MySQL's binary DECIMAL(precision, scale) (row images and binary JSON) into `out` as exact
// text with exactly `scale` fraction digits. Corruption on short or impossible bytes.
Status DecodeDecimal(ByteReader& r, int precision, int scale, std::string* out);

// MySQL 8 PARTIAL_UPDATE_ROWS (binlog_row_value_options=PARTIAL_JSON): the after-image of a JSON
// column given as a list of diffs (REPLACE/INSERT/REMOVE at a JSON path). Reads the length-prefixed
// (meta bytes) diff list from `r` and applies it to `before` (a kJson value) into `out`, the full
// after-value as JSON text, exactly as a full after-image would have decoded.
Status DecodePartialJson(const ColumnDef& col, ByteReader& r, const Value& before, Value* out);

// Appends `s` as a JSON string literal (quotes included), escaping as RFC 8259 requires; bytes
// that are not valid UTF-8 are written as \u00XX of each byte (never dropped).
void AppendJsonString(std::string_view s, std::string* out);

}  // namespace binlake::binlog
