// Text and JSON renderings of decoded cells, matching what MySQL/MariaDB print in a SELECT.
#include "binlog/value.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "binlog/json_binary.h"

namespace binlake::binlog {
namespace {

void AppendUInt(uint64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// Writes `v` as exactly `width` digits (zero-padded) at `p`; returns the end.
char* PutDigits(char* p, uint32_t v, int width) {
  for (int k = width - 1; k >= 0; k--) {
    p[k] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

char* PutFraction(char* p, uint32_t micros, int fsp) {
  if (fsp <= 0) return p;
  if (fsp > 6) fsp = 6;
  *p++ = '.';
  static constexpr uint32_t kDiv[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
  return PutDigits(p, micros / kDiv[fsp], fsp);
}

char* PutDate(char* p, const Temporal& t) {
  p = PutDigits(p, static_cast<uint32_t>(t.year), 4);
  *p++ = '-';
  p = PutDigits(p, t.month, 2);
  *p++ = '-';
  return PutDigits(p, t.day, 2);
}

char* PutClock(char* p, const Temporal& t, int fsp) {
  p = PutDigits(p, t.hour, t.hour >= 100 ? 3 : 2);
  *p++ = ':';
  p = PutDigits(p, t.minute, 2);
  *p++ = ':';
  p = PutDigits(p, t.second, 2);
  return PutFraction(p, t.micros, fsp);
}

// Days since 1970-01-01 -> civil date (proleptic Gregorian; H. Hinnant's algorithm).
void CivilFromDays(int64_t z, Temporal* t) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<uint32_t>(z - era * 146097);
  uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint32_t mp = (5 * doy + 2) / 153;
  uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  t->year = static_cast<int32_t>(y + (m <= 2));
  t->month = static_cast<uint8_t>(m);
  t->day = static_cast<uint8_t>(d);
}

void AppendTemporal(const Value& v, std::string* out) {
  char buf[64];
  char* p = buf;
  switch (v.kind) {
    case ValueKind::kYear:
      p = PutDigits(p, static_cast<uint32_t>(v.u), 4);
      break;
    case ValueKind::kDate:
      p = PutDate(p, v.t);
      break;
    case ValueKind::kDateTime:
      p = PutDate(p, v.t);
      *p++ = ' ';
      p = PutClock(p, v.t, v.fsp);
      break;
    case ValueKind::kTimestamp: {
      Temporal t;
      t.micros = v.t.micros;
      if (v.i != 0 || v.t.micros != 0) {
        int64_t days = v.i >= 0 ? v.i / 86400 : (v.i - 86399) / 86400;
        int64_t secs = v.i - days * 86400;
        CivilFromDays(days, &t);
        t.hour = static_cast<uint32_t>(secs / 3600);
        t.minute = static_cast<uint8_t>(secs / 60 % 60);
        t.second = static_cast<uint8_t>(secs % 60);
      }
      p = PutDate(p, t);
      *p++ = ' ';
      p = PutClock(p, t, v.fsp);
      break;
    }
    case ValueKind::kTime:
      if (v.t.negative) *p++ = '-';
      p = PutClock(p, v.t, v.fsp);
      break;
    default:
      break;
  }
  out->append(buf, p);
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void AppendBase64(std::string_view s, std::string* out) {
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t x = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    char q[4] = {kB64[x >> 18], kB64[(x >> 12) & 63], kB64[(x >> 6) & 63], kB64[x & 63]};
    out->append(q, 4);
  }
  if (i < n) {
    uint32_t x = p[i] << 16;
    if (i + 1 < n) x |= p[i + 1] << 8;
    out->push_back(kB64[x >> 18]);
    out->push_back(kB64[(x >> 12) & 63]);
    out->push_back(i + 1 < n ? kB64[(x >> 6) & 63] : '=');
    out->push_back('=');
  }
}

namespace {

// Length of the valid UTF-8 sequence at p (>= 2 bytes), or 0 if invalid.
size_t Utf8SeqLen(const unsigned char* p, const unsigned char* end) {
  unsigned char c = *p;
  size_t n;
  uint32_t cp;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

const char* ColumnTypeName(uint8_t type) {
  switch (type) {
    case kTypeDecimal:
      return "DECIMAL";
    case kTypeTiny:
      return "TINY";
    case kTypeShort:
      return "SHORT";
    case kTypeLong:
      return "LONG";
    case kTypeFloat:
      return "FLOAT";
    case kTypeDouble:
      return "DOUBLE";
    case kTypeNull:
      return "NULL";
    case kTypeTimestamp:
      return "TIMESTAMP";
    case kTypeLongLong:
      return "LONGLONG";
    case kTypeInt24:
      return "INT24";
    case kTypeDate:
      return "DATE";
    case kTypeTime:
      return "TIME";
    case kTypeDateTime:
      return "DATETIME";
    case kTypeYear:
      return "YEAR";
    case kTypeNewDate:
      return "NEWDATE";
    case kTypeVarchar:
      return "VARCHAR";
    case kTypeBit:
      return "BIT";
    case kTypeTimestamp2:
      return "TIMESTAMP2";
    case kTypeDateTime2:
      return "DATETIME2";
    case kTypeTime2:
      return "TIME2";
    case kTypeTypedArray:
      return "TYPED_ARRAY";
    case kTypeVector:
      return "VECTOR";
    case kTypeInvalid:
      return "INVALID";
    case kTypeBool:
      return "BOOL";
    case kTypeJson:
      return "JSON";
    case kTypeNewDecimal:
      return "NEWDECIMAL";
    case kTypeEnum:
      return "ENUM";
    case kTypeSet:
      return "SET";
    case kTypeTinyBlob:
      return "TINY_BLOB";
    case kTypeMediumBlob:
      return "MEDIUM_BLOB";
    case kTypeLongBlob:
      return "LONG_BLOB";
    case kTypeBlob:
      return "BLOB";
    case kTypeVarString:
      return "VAR_STRING";
    case kTypeString:
      return "STRING";
    case kTypeGeometry:
      return "GEOMETRY";
    default:
      return "UNKNOWN";
  }
}

void AppendDouble(double v, bool is_float, int float_digits, int width, std::string* out) {
  if (!std::isfinite(v)) {
    out->append(std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    return;
  }
  char buf[64];
  std::to_chars_result r;
  if (is_float && float_digits > 0) {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific, float_digits - 1);
  } else if (is_float) {
    r = std::to_chars(buf, buf + sizeof(buf), static_cast<float>(v), std::chars_format::scientific);
  } else {
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  }
  // buf: [-]d[.ddd]e(+|-)xx; split into sign, significant digits and decimal exponent.
  const char* p = buf;
  bool neg = *p == '-';
  if (neg) p++;
  char digits[32];
  int len = 0;
  for (; p < r.ptr && *p != 'e'; p++) {
    if (*p != '.') digits[len++] = *p;
  }
  int exp10 = 0;
  std::from_chars(p + 1 + (p[1] == '+'), r.ptr, exp10);
  while (len > 1 && digits[len - 1] == '0') len--;
  if (v == 0) neg = false;
  int decpt = exp10 + 1;
  int f_len = decpt <= 0 ? len - decpt + 2 : decpt < len ? len + 1 : decpt;
  bool fixed = (width <= 0 || f_len <= width) && decpt >= -14 && (decpt <= 15 || len > decpt);
  if (neg) out->push_back('-');
  if (fixed) {
    if (decpt <= 0) {
      out->append("0.");
      out->append(static_cast<size_t>(-decpt), '0');
      out->append(digits, len);
    } else if (decpt < len) {
      out->append(digits, decpt);
      out->push_back('.');
      out->append(digits + decpt, len - decpt);
    } else {
      out->append(digits, len);
      out->append(static_cast<size_t>(decpt - len), '0');
    }
    return;
  }
  out->push_back(digits[0]);
  if (len > 1) {
    out->push_back('.');
    out->append(digits + 1, len - 1);
  }
  out->push_back('e');
  AppendInt(exp10, out);
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* run = p;  // start of bytes not yet copied
  while (p < end) {
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      p++;
      continue;
    }
    if (c >= 0x80) {
      size_t n = Utf8SeqLen(p, end);
      if (n != 0) {
        p += n;
        continue;
      }
    }
    out->append(reinterpret_cast<const char*>(run), p - run);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
    run = ++p;
  }
  out->append(reinterpret_cast<const char*>(run), p - run);
  out->push_back('"');
}

std::string Value::ToText() const {
  std::string out;
  switch (kind) {
    case ValueKind::kNull:
      out = "NULL";
      break;
    case ValueKind::kInt:
      AppendInt(i, &out);
      break;
    case ValueKind::kUInt:
    case ValueKind::kBit:
      AppendUInt(u, &out);
      break;
    case ValueKind::kFloat:
      AppendDouble(d, true, 6, 0, &out);
      break;
    case ValueKind::kDouble:
      AppendDouble(d, false, 0, 0, &out);
      break;
    case ValueKind::kYear:
    case ValueKind::kDate:
    case ValueKind::kDateTime:
    case ValueKind::kTimestamp:
    case ValueKind::kTime:
      AppendTemporal(*this, &out);
      break;
    case ValueKind::kEnum:
    case ValueKind::kSet:
      if (names_known) {
        out = text;
      } else {
        AppendUInt(u, &out);
      }
      break;
    case ValueKind::kGeometry: {
      char srid[4];
      for (int k = 0; k < 4; k++) srid[k] = static_cast<char>(u >> (8 * k));
      out.reserve(4 + text.size());
      out.append(srid, 4);
      out.append(text);
      break;
    }
    case ValueKind::kDecimal:
    case ValueKind::kString:
    case ValueKind::kBytes:
    case ValueKind::kJson:
    case ValueKind::kJsonDiff:
      out = text;
      break;
  }
  return out;
}

void Value::AppendJson(std::string* out) const {
  switch (kind) {
    case ValueKind::kNull:
      out->append("null");
      break;
    case ValueKind::kInt:
      AppendInt(i, out);
      break;
    case ValueKind::kUInt:
    case ValueKind::kBit:
    case ValueKind::kYear:
      AppendUInt(u, out);
      break;
    case ValueKind::kFloat:
    case ValueKind::kDouble:
      if (std::isfinite(d)) {
        AppendDouble(d, kind == ValueKind::kFloat, 0, 0, out);
      } else {
        out->append("null");
      }
      break;
    case ValueKind::kDecimal:
      out->push_back('"');
      out->append(text);
      out->push_back('"');
      break;
    case ValueKind::kDate:
    case ValueKind::kDateTime:
    case ValueKind::kTimestamp:
    case ValueKind::kTime:
      out->push_back('"');
      AppendTemporal(*this, out);
      out->push_back('"');
      break;
    case ValueKind::kString:
      AppendJsonString(text, out);
      break;
    case ValueKind::kBytes:
      out->append("\"base64:");
      AppendBase64(text, out);
      out->push_back('"');
      break;
    case ValueKind::kJson:
    case ValueKind::kJsonDiff:
      out->append(text.empty() ? std::string_view("null") : std::string_view(text));
      break;
    case ValueKind::kGeometry:
      out->append("{\"srid\":");
      AppendUInt(u, out);
      out->append(",\"wkb\":\"");
      for (unsigned char c : text) {
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
      }
      out->append("\"}");
      break;
    case ValueKind::kEnum:
    case ValueKind::kSet:
      if (names_known) {
        AppendJsonString(text, out);
      } else {
        AppendUInt(u, out);
      }
      break;
  }
}

}  // namespace binlake::binlog
