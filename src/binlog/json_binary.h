// MySQL 8 binary JSON (the storage and binlog format of JSON columns) to JSON text.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace binlake::binlog {

// Converts one binary JSON document to JSON text as MySQL prints it ({"a": 1, "b": [true, null]}),
// replacing `out`. An empty document is JSON null. Offsets are bounds-checked and nesting deeper
// than 100 is Corruption.
Status JsonBinaryToText(std::string_view doc, std::string* out);

// Appends `v` the way MySQL's my_gcvt prints it: significant digits then plain notation when the
// decimal point is within 15 digits (and the text fits `width` chars, 0 = unlimited), else "1e20",
// "1.5e-16". float_digits > 0 rounds `v` to that many significant digits (MariaDB's FLOAT shows 6);
// is_float with float_digits 0 gives the shortest digits that round-trip as a float.
void AppendDouble(double v, bool is_float, int float_digits, int width, std::string* out);

// Standard base64 with padding.
void AppendBase64(std::string_view s, std::string* out);

}  // namespace binlake::binlog
