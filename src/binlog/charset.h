// Character sets of MySQL/MariaDB collations and their conversion to UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace binlake::binlog {

enum class Charset : uint8_t {
  kUnknown,  // collation 0 (no metadata) or an id neither server defines
  kBinary,
  kUtf8,  // utf8mb3 and utf8mb4: already UTF-8
  kAscii,
  kLatin1,  // MySQL latin1 is cp1252 with the 5 undefined bytes mapped to U+0081 etc.
  kBig5,
  kDec8,
  kCp850,
  kHp8,
  kKoi8r,
  kLatin2,
  kSwe7,
  kUjis,
  kSjis,
  kCp1251,
  kHebrew,
  kTis620,
  kEuckr,
  kLatin7,
  kKoi8u,
  kGb2312,
  kGreek,
  kCp1250,
  kGbk,
  kCp1257,
  kLatin5,
  kArmscii8,
  kUcs2,
  kCp866,
  kKeybcs2,
  kMacce,
  kMacroman,
  kCp852,
  kCp1256,
  kUtf16,
  kUtf16le,
  kUtf32,
  kGeostd8,
  kCp932,
  kEucjpms,
  kGb18030,
  kCount,
};

// The character set of a collation id of MySQL 8/9 or MariaDB 10.x/11.x; kUnknown if not known.
Charset CharsetOfCollation(uint32_t collation);
const char* CharsetName(Charset cs);

// Converts `in` from `cs` to UTF-8 into `out` (its capacity is reused). Returns false when the
// bytes are not valid in `cs` or the platform cannot convert `cs`; `out` is then unspecified.
bool ConvertToUtf8(Charset cs, std::string_view in, std::string* out);

bool IsValidUtf8(std::string_view s);

}  // namespace binlake::binlog
