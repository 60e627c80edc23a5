// Decoding of one cell of a ROWS event row image, per column type, into a reusable Value.
#include <cstring>

#include "binlog/charset.h"
#include "binlog/json_binary.h"
#include "binlog/value.h"

namespace binlake::binlog {
namespace {

[[gnu::cold]] Status Truncated(uint8_t type) {
  return Status::Corruption(std::string("truncated ") + ColumnTypeName(type) + " value");
}
[[gnu::cold]] Status Invalid(uint8_t type, const char* what) {
  return Status::Corruption(std::string("invalid ") + ColumnTypeName(type) + " " + what);
}

constexpr uint32_t kPow10[10] = {1,      10,      100,      1000,      10000,
                                 100000, 1000000, 10000000, 100000000, 1000000000};
constexpr int kDigitBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

Status DecodeInt(const ColumnDef& col, size_t n, ByteReader& r, Value* out) {
  uint64_t v;
  if (!r.ReadUIntLE(n, &v)) return Truncated(col.type);
  if (col.is_unsigned) {
    out->kind = ValueKind::kUInt;
    out->u = v;
  } else {
    int shift = static_cast<int>(64 - 8 * n);
    out->kind = ValueKind::kInt;
    out->i = static_cast<int64_t>(v << shift) >> shift;
  }
  return Status::Ok();
}

// Fraction of DATETIME2/TIMESTAMP2 (unsigned, big-endian, (fsp+1)/2 bytes) in microseconds.
bool ReadFraction(ByteReader& r, int fsp, uint32_t* micros) {
  if (fsp == 0) {
    *micros = 0;
    return true;
  }
  size_t n = (fsp + 1) / 2;
  uint64_t v;
  if (!r.ReadUIntBE(n, &v)) return false;
  *micros = static_cast<uint32_t>(v * kPow10[6 - 2 * n]);
  return true;
}

Status DecodeDateTime2(const ColumnDef& col, ByteReader& r, Value* out) {
  uint64_t packed;
  uint32_t micros;
  if (!r.ReadUIntBE(5, &packed) || !ReadFraction(r, out->fsp, &micros)) return Truncated(col.type);
  if (packed < 0x8000000000ull || micros > 999999) return Invalid(col.type, "value");
  uint64_t intpart = packed - 0x8000000000ull;
  uint64_t ymd = intpart >> 17;
  uint64_t ym = ymd >> 5;
  uint64_t hms = intpart & 0x1ffff;
  Temporal& t = out->t;
  t.year = static_cast<int32_t>(ym / 13);
  t.month = static_cast<uint8_t>(ym % 13);
  t.day = static_cast<uint8_t>(ymd & 31);
  t.hour = static_cast<uint32_t>(hms >> 12);
  t.minute = static_cast<uint8_t>((hms >> 6) & 63);
  t.second = static_cast<uint8_t>(hms & 63);
  t.micros = micros;
  t.negative = false;
  if (t.year > 9999 || t.hour > 23 || t.minute > 59 || t.second > 59) {
    return Invalid(col.type, "value");
  }
  out->kind = ValueKind::kDateTime;
  return Status::Ok();
}

// TIME2: 3-byte big-endian HMS offset by 0x800000, then a fraction that for negative values is
// stored as a borrow from the integer part (MySQL's my_time_packed_from_binary).
Status DecodeTime2(const ColumnDef& col, ByteReader& r, Value* out) {
  int fsp = out->fsp;
  int64_t packed;
  uint64_t raw;
  if (fsp >= 5) {
    if (!r.ReadUIntBE(6, &raw)) return Truncated(col.type);
    packed = static_cast<int64_t>(raw) - 0x800000000000ll;
  } else {
    if (!r.ReadUIntBE(3, &raw)) return Truncated(col.type);
    int64_t intpart = static_cast<int64_t>(raw) - 0x800000;
    int64_t frac = 0;
    if (fsp >= 1) {
      size_t n = fsp <= 2 ? 1 : 2;
      uint64_t f;
      if (!r.ReadUIntBE(n, &f)) return Truncated(col.type);
      frac = static_cast<int64_t>(f);
      if (intpart < 0 && frac != 0) {
        intpart++;
        frac -= n == 1 ? 0x100 : 0x10000;
      }
      frac *= n == 1 ? 10000 : 100;
    }
    packed = intpart * (1ll << 24) + frac;
  }
  Temporal& t = out->t;
  t.negative = packed < 0;
  uint64_t tmp = t.negative ? 0 - static_cast<uint64_t>(packed) : static_cast<uint64_t>(packed);
  uint64_t hms = tmp >> 24;
  t.micros = static_cast<uint32_t>(tmp & 0xffffff);
  t.hour = static_cast<uint32_t>(hms >> 12);
  t.minute = static_cast<uint8_t>((hms >> 6) & 63);
  t.second = static_cast<uint8_t>(hms & 63);
  t.year = 0;
  t.month = t.day = 0;
  if (t.hour > 838 || t.minute > 59 || t.second > 59 || t.micros > 999999) {
    return Invalid(col.type, "value");
  }
  out->kind = ValueKind::kTime;
  return Status::Ok();
}

Status ReadPrefixed(const ColumnDef& col, size_t prefix, ByteReader& r, std::string_view* data) {
  uint64_t len;
  if (!r.ReadUIntLE(prefix, &len) || !r.ReadBytes(len, data)) return Truncated(col.type);
  return Status::Ok();
}

Status BlobPrefix(const ColumnDef& col, size_t* prefix) {
  if (col.meta < 1 || col.meta > 4) return Invalid(col.type, "metadata");
  *prefix = col.meta;
  return Status::Ok();
}

// Character data: the collation decides bytes vs text and the source charset.
void SetChars(const ColumnDef& col, bool is_blob, std::string_view data, Value* out) {
  Charset cs = col.collation == 0 ? Charset::kUnknown : CharsetOfCollation(col.collation);
  switch (cs) {
    case Charset::kUtf8:
    case Charset::kAscii:
      out->kind = ValueKind::kString;
      out->text.assign(data);
      return;
    case Charset::kBinary:
      out->kind = ValueKind::kBytes;
      out->text.assign(data);
      return;
    case Charset::kUnknown:
      out->kind = (col.collation == 0 && is_blob) || !IsValidUtf8(data) ? ValueKind::kBytes
                                                                        : ValueKind::kString;
      out->text.assign(data);
      return;
    default:
      if (ConvertToUtf8(cs, data, &out->text)) {
        out->kind = ValueKind::kString;
      } else {
        // Not valid in its charset (or no converter): keep the exact bytes rather than guess.
        out->kind = ValueKind::kBytes;
        out->text.assign(data);
      }
  }
}

void SetEnumName(const ColumnDef& col, Value* out) {
  const auto& names = col.enum_values;
  out->names_known = !names.empty() && out->u <= names.size();
  if (!out->names_known) return;
  if (out->u == 0) {
    out->text.clear();
  } else {
    out->text.assign(names[out->u - 1]);
  }
}

void SetSetNames(const ColumnDef& col, Value* out) {
  const auto& names = col.set_values;
  out->text.clear();
  out->names_known = !names.empty() && (names.size() >= 64 || (out->u >> names.size()) == 0);
  if (!out->names_known) return;
  for (size_t b = 0; b < names.size(); b++) {
    if ((out->u >> b) & 1) {
      if (!out->text.empty()) out->text.push_back(',');
      out->text.append(names[b]);
    }
  }
}

}  // namespace

Status DecodeDecimal(ByteReader& r, int precision, int scale, std::string* out) {
  if (precision < 1 || precision > 65 || scale < 0 || scale > 30 || scale > precision) {
    return Status::Corruption("invalid NEWDECIMAL precision/scale");
  }
  int intg = precision - scale;
  int intg0 = intg / 9, intg0x = intg % 9;
  int frac0 = scale / 9, frac0x = scale % 9;
  size_t size = intg0 * 4 + kDigitBytes[intg0x] + frac0 * 4 + kDigitBytes[frac0x];
  std::string_view raw;
  if (!r.ReadBytes(size, &raw)) return Status::Corruption("truncated NEWDECIMAL value");
  uint8_t b[32];
  std::memcpy(b, raw.data(), size);
  bool negative = (b[0] & 0x80) == 0;
  b[0] ^= 0x80;
  if (negative) {
    for (size_t k = 0; k < size; k++) b[k] = ~b[k];
  }
  size_t pos = 0;
  auto take = [&](int bytes) {
    uint32_t v = 0;
    for (int k = 0; k < bytes; k++) v = (v << 8) | b[pos++];
    return v;
  };
  // Digits go into buf after slots for "-0"; leading zeros of the integer part are cut.
  char buf[80];
  char* p = buf + 2;
  auto put = [&](uint32_t v, int digits) {
    for (int k = digits - 1; k >= 0; k--) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += digits;
  };
  bool bad = false;
  if (intg0x > 0) {
    uint32_t v = take(kDigitBytes[intg0x]);
    bad |= v >= kPow10[intg0x];
    put(v, intg0x);
  }
  for (int k = 0; k < intg0; k++) {
    uint32_t v = take(4);
    bad |= v >= kPow10[9];
    put(v, 9);
  }
  char* int_begin = buf + 2;
  while (int_begin < p && *int_begin == '0') int_begin++;
  bool int_zero = int_begin == p;
  if (int_zero) *--int_begin = '0';
  bool all_zero = int_zero;
  if (scale > 0) {
    *p++ = '.';
    for (int k = 0; k < frac0; k++) {
      uint32_t v = take(4);
      bad |= v >= kPow10[9];
      all_zero &= v == 0;
      put(v, 9);
    }
    if (frac0x > 0) {
      uint32_t v = take(kDigitBytes[frac0x]);
      bad |= v >= kPow10[frac0x];
      all_zero &= v == 0;
      put(v, frac0x);
    }
  }
  if (bad) return Status::Corruption("invalid NEWDECIMAL value");
  if (negative && !all_zero) *--int_begin = '-';
  out->assign(int_begin, p);
  return Status::Ok();
}

Status DecodeCell(const ColumnDef& col, ByteReader& r, Value* out) {
  out->fsp = 0;
  switch (col.type) {
    case kTypeTiny:
      return DecodeInt(col, 1, r, out);
    case kTypeShort:
      return DecodeInt(col, 2, r, out);
    case kTypeInt24:
      return DecodeInt(col, 3, r, out);
    case kTypeLong:
      return DecodeInt(col, 4, r, out);
    case kTypeLongLong:
      return DecodeInt(col, 8, r, out);
    case kTypeFloat: {
      uint32_t raw;
      if (!r.ReadU32(&raw)) return Truncated(col.type);
      float f;
      std::memcpy(&f, &raw, 4);
      out->kind = ValueKind::kFloat;
      out->d = f;
      return Status::Ok();
    }
    case kTypeDouble: {
      uint64_t raw;
      if (!r.ReadU64(&raw)) return Truncated(col.type);
      std::memcpy(&out->d, &raw, 8);
      out->kind = ValueKind::kDouble;
      return Status::Ok();
    }
    case kTypeNewDecimal: {
      Status st = DecodeDecimal(r, col.meta >> 8, col.meta & 0xff, &out->text);
      if (!st.ok()) return st;
      out->kind = ValueKind::kDecimal;
      return Status::Ok();
    }
    case kTypeYear: {
      uint8_t v;
      if (!r.ReadU8(&v)) return Truncated(col.type);
      out->kind = ValueKind::kYear;
      out->u = v == 0 ? 0 : 1900 + v;
      return Status::Ok();
    }
    case kTypeDate:
    case kTypeNewDate: {
      uint64_t v;
      if (!r.ReadUIntLE(3, &v)) return Truncated(col.type);
      out->kind = ValueKind::kDate;
      out->t = Temporal{};
      out->t.day = static_cast<uint8_t>(v & 31);
      out->t.month = static_cast<uint8_t>((v >> 5) & 15);
      out->t.year = static_cast<int32_t>(v >> 9);
      if (out->t.month > 12) return Invalid(col.type, "value");
      return Status::Ok();
    }
    case kTypeTime: {
      uint64_t raw;
      if (!r.ReadUIntLE(3, &raw)) return Truncated(col.type);
      int64_t v = static_cast<int64_t>(raw << 40) >> 40;
      out->t = Temporal{};
      out->t.negative = v < 0;
      uint64_t a = v < 0 ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
      out->t.hour = static_cast<uint32_t>(a / 10000);
      out->t.minute = static_cast<uint8_t>(a / 100 % 100);
      out->t.second = static_cast<uint8_t>(a % 100);
      if (out->t.hour > 838 || out->t.minute > 59 || out->t.second > 59) {
        return Invalid(col.type, "value");
      }
      out->kind = ValueKind::kTime;
      return Status::Ok();
    }
    case kTypeDateTime: {
      uint64_t v;
      if (!r.ReadU64(&v)) return Truncated(col.type);
      uint64_t date = v / 1000000, time = v % 1000000;
      out->t = Temporal{};
      out->t.year = static_cast<int32_t>(date / 10000);
      out->t.month = static_cast<uint8_t>(date / 100 % 100);
      out->t.day = static_cast<uint8_t>(date % 100);
      out->t.hour = static_cast<uint32_t>(time / 10000);
      out->t.minute = static_cast<uint8_t>(time / 100 % 100);
      out->t.second = static_cast<uint8_t>(time % 100);
      if (out->t.year > 9999 || out->t.month > 12 || out->t.day > 31 || out->t.hour > 23 ||
          out->t.minute > 59 || out->t.second > 59) {
        return Invalid(col.type, "value");
      }
      out->kind = ValueKind::kDateTime;
      return Status::Ok();
    }
    case kTypeTimestamp: {
      uint32_t v;
      if (!r.ReadU32(&v)) return Truncated(col.type);
      out->kind = ValueKind::kTimestamp;
      out->i = v;
      out->t.micros = 0;
      return Status::Ok();
    }
    case kTypeTimestamp2: {
      if (col.meta > 6) return Invalid(col.type, "metadata");
      out->fsp = static_cast<uint8_t>(col.meta);
      uint64_t secs;
      uint32_t micros;
      if (!r.ReadUIntBE(4, &secs) || !ReadFraction(r, out->fsp, &micros)) {
        return Truncated(col.type);
      }
      if (micros > 999999) return Invalid(col.type, "value");
      out->kind = ValueKind::kTimestamp;
      out->i = static_cast<int64_t>(secs);
      out->t.micros = micros;
      return Status::Ok();
    }
    case kTypeDateTime2:
      if (col.meta > 6) return Invalid(col.type, "metadata");
      out->fsp = static_cast<uint8_t>(col.meta);
      return DecodeDateTime2(col, r, out);
    case kTypeTime2:
      if (col.meta > 6) return Invalid(col.type, "metadata");
      out->fsp = static_cast<uint8_t>(col.meta);
      return DecodeTime2(col, r, out);
    case kTypeVarchar:
    case kTypeVarString:
    case kTypeString: {
      std::string_view data;
      BL_RETURN_IF_ERROR(ReadPrefixed(col, col.meta < 256 ? 1 : 2, r, &data));
      SetChars(col, false, data, out);
      // BINARY(n) is logged without its trailing 0x00 padding; SELECT returns all n bytes.
      if (col.type == kTypeString && col.collation == 63 /* binary */ &&
          out->text.size() < col.meta) {
        out->text.resize(col.meta, '\0');
      }
      return Status::Ok();
    }
    case kTypeTinyBlob:
    case kTypeMediumBlob:
    case kTypeLongBlob:
    case kTypeBlob: {
      size_t prefix = 0;
      std::string_view data;
      BL_RETURN_IF_ERROR(BlobPrefix(col, &prefix));
      BL_RETURN_IF_ERROR(ReadPrefixed(col, prefix, r, &data));
      SetChars(col, true, data, out);
      return Status::Ok();
    }
    case kTypeJson: {
      size_t prefix = 0;
      std::string_view data;
      BL_RETURN_IF_ERROR(BlobPrefix(col, &prefix));
      BL_RETURN_IF_ERROR(ReadPrefixed(col, prefix, r, &data));
      BL_RETURN_IF_ERROR(JsonBinaryToText(data, &out->text));
      out->kind = ValueKind::kJson;
      return Status::Ok();
    }
    case kTypeGeometry: {
      size_t prefix = 0;
      std::string_view data;
      BL_RETURN_IF_ERROR(BlobPrefix(col, &prefix));
      BL_RETURN_IF_ERROR(ReadPrefixed(col, prefix, r, &data));
      if (data.size() < 4) return Truncated(col.type);
      ByteReader g(data);
      uint32_t srid;
      (void)g.ReadU32(&srid);
      out->kind = ValueKind::kGeometry;
      out->u = srid;
      out->text.assign(data.substr(4));
      return Status::Ok();
    }
    case kTypeVector: {
      size_t prefix = 0;
      std::string_view data;
      BL_RETURN_IF_ERROR(BlobPrefix(col, &prefix));
      BL_RETURN_IF_ERROR(ReadPrefixed(col, prefix, r, &data));
      out->kind = ValueKind::kBytes;
      out->text.assign(data);
      return Status::Ok();
    }
    case kTypeEnum: {
      if (col.meta < 1 || col.meta > 2) return Invalid(col.type, "metadata");
      if (!r.ReadUIntLE(col.meta, &out->u)) return Truncated(col.type);
      out->kind = ValueKind::kEnum;
      SetEnumName(col, out);
      return Status::Ok();
    }
    case kTypeSet: {
      if (col.meta < 1 || col.meta > 8) return Invalid(col.type, "metadata");
      if (!r.ReadUIntLE(col.meta, &out->u)) return Truncated(col.type);
      out->kind = ValueKind::kSet;
      SetSetNames(col, out);
      return Status::Ok();
    }
    case kTypeBit: {
      size_t bits = col.meta >> 8, bytes = col.meta & 0xff;
      size_t len = bytes + (bits ? 1 : 0);
      if (bits > 7 || len == 0 || len > 8) return Invalid(col.type, "metadata");
      if (!r.ReadUIntBE(len, &out->u)) return Truncated(col.type);
      out->kind = ValueKind::kBit;
      return Status::Ok();
    }
    case kTypeNull:
      out->SetNull();
      return Status::Ok();
    default:
      return Status::NotSupported(std::string("column type ") + ColumnTypeName(col.type) + " (" +
                                  std::to_string(col.type) + ") is not supported");
  }
}

}  // namespace binlake::binlog
