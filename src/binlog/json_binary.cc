// MySQL binary JSON (sql-common/json_binary.cc format) rendered as MySQL's JSON text.
#include "binlog/json_binary.h"

#include <cstring>

#include "binlog/value.h"

namespace binlake::binlog {
namespace {

enum JsonType : uint8_t {
  kSmallObject = 0x00,
  kLargeObject = 0x01,
  kSmallArray = 0x02,
  kLargeArray = 0x03,
  kLiteral = 0x04,
  kInt16 = 0x05,
  kUInt16 = 0x06,
  kInt32 = 0x07,
  kUInt32 = 0x08,
  kInt64 = 0x09,
  kUInt64 = 0x0a,
  kDouble = 0x0b,
  kString = 0x0c,
  kOpaque = 0x0f,
};

constexpr int kMaxDepth = 100;

uint64_t LoadLE(const char* p, size_t n) {
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) x |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return x;
}

Status Bad(const char* what) {
  return Status::Corruption(std::string("invalid JSON value: ") + what);
}

// Length of a string/opaque: 7 bits per byte, high bit = more, at most 5 bytes, fits 32 bits.
bool ReadVarLen(std::string_view d, size_t* pos, uint64_t* len) {
  uint64_t v = 0;
  for (int i = 0; i < 5; i++) {
    if (*pos >= d.size()) return false;
    auto b = static_cast<uint8_t>(d[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *len = v;
      return v <= 0xffffffffu;
    }
  }
  return false;
}

bool IsInlined(uint8_t type, bool large) {
  return type == kLiteral || type == kInt16 || type == kUInt16 ||
         (large && (type == kInt32 || type == kUInt32));
}

// MySQL stores DATE/TIME/DATETIME/TIMESTAMP in JSON as its 8-byte "packed" integer.
void AppendPackedTemporal(uint8_t field_type, int64_t packed, std::string* out) {
  Value v;
  bool neg = packed < 0;
  uint64_t tmp = neg ? 0 - static_cast<uint64_t>(packed) : static_cast<uint64_t>(packed);
  v.t.micros = static_cast<uint32_t>(tmp % (1u << 24));
  uint64_t intpart = tmp >> 24;
  v.fsp = 6;
  if (field_type == kTypeTime) {
    v.kind = ValueKind::kTime;
    v.t.negative = neg;
    v.t.hour = static_cast<uint32_t>((intpart >> 12) % (1u << 10));
  } else {
    v.kind = field_type == kTypeDate ? ValueKind::kDate : ValueKind::kDateTime;
    uint64_t ymd = intpart >> 17;
    uint64_t ym = ymd >> 5;
    v.t.year = static_cast<int32_t>(ym / 13 % 10000);
    v.t.month = static_cast<uint8_t>(ym % 13);
    v.t.day = static_cast<uint8_t>(ymd % 32);
    v.t.hour = static_cast<uint32_t>((intpart % (1u << 17)) >> 12);
  }
  v.t.minute = static_cast<uint8_t>((intpart >> 6) % 64);
  v.t.second = static_cast<uint8_t>(intpart % 64);
  v.t.micros %= 1000000;
  out->push_back('"');
  out->append(v.ToText());
  out->push_back('"');
}

class Printer {
 public:
  explicit Printer(std::string* out) : out_(out) {}

  // `d` starts at the value and runs to the end of the enclosing container (or document).
  Status PrintValue(uint8_t type, std::string_view d, int depth) {
    switch (type) {
      case kSmallObject:
      case kLargeObject:
      case kSmallArray:
      case kLargeArray:
        return PrintContainer(type, d, depth + 1);
      case kLiteral:
        if (d.empty()) return Bad("truncated literal");
        switch (d[0]) {
          case 0:
            out_->append("null");
            return Status::Ok();
          case 1:
            out_->append("true");
            return Status::Ok();
          case 2:
            out_->append("false");
            return Status::Ok();
          default:
            return Bad("unknown literal");
        }
      case kInt16:
      case kUInt16:
      case kInt32:
      case kUInt32:
      case kInt64:
      case kUInt64: {
        static constexpr size_t kSize[] = {2, 2, 4, 4, 8, 8};
        size_t n = kSize[type - kInt16];
        if (d.size() < n) return Bad("truncated integer");
        uint64_t raw = LoadLE(d.data(), n);
        if (type == kUInt16 || type == kUInt32 || type == kUInt64) {
          out_->append(std::to_string(raw));
        } else {
          int shift = static_cast<int>(64 - 8 * n);
          out_->append(std::to_string(static_cast<int64_t>(raw << shift) >> shift));
        }
        return Status::Ok();
      }
      case kDouble: {
        if (d.size() < 8) return Bad("truncated double");
        uint64_t raw = LoadLE(d.data(), 8);
        double v;
        std::memcpy(&v, &raw, 8);
        size_t start = out_->size();
        AppendDouble(v, false, 0, 22, out_);
        // MySQL adds ".0" to integral doubles so they read back as doubles.
        if (out_->find_first_not_of("-0123456789", start) == std::string::npos) out_->append(".0");
        return Status::Ok();
      }
      case kString: {
        size_t pos = 0;
        uint64_t len;
        if (!ReadVarLen(d, &pos, &len) || len > d.size() - pos) return Bad("truncated string");
        AppendJsonString(d.substr(pos, len), out_);
        return Status::Ok();
      }
      case kOpaque:
        return PrintOpaque(d);
      default:
        return Bad("unknown type");
    }
  }

 private:
  Status PrintOpaque(std::string_view d) {
    if (d.empty()) return Bad("truncated opaque");
    auto field_type = static_cast<uint8_t>(d[0]);
    size_t pos = 1;
    uint64_t len;
    if (!ReadVarLen(d, &pos, &len) || len > d.size() - pos) return Bad("truncated opaque");
    std::string_view data = d.substr(pos, len);
    switch (field_type) {
      case kTypeNewDecimal: {
        if (data.size() < 2) return Bad("truncated decimal");
        ByteReader r(data.substr(2));
        std::string text;
        Status st =
            DecodeDecimal(r, static_cast<uint8_t>(data[0]), static_cast<uint8_t>(data[1]), &text);
        if (!st.ok()) return Bad("bad decimal");
        out_->append(text);
        return Status::Ok();
      }
      case kTypeDate:
      case kTypeTime:
      case kTypeDateTime:
      case kTypeTimestamp:
        if (data.size() < 8) return Bad("truncated temporal");
        AppendPackedTemporal(field_type, static_cast<int64_t>(LoadLE(data.data(), 8)), out_);
        return Status::Ok();
      default:
        out_->append("\"base64:type");
        out_->append(std::to_string(field_type));
        out_->push_back(':');
        AppendBase64(data, out_);
        out_->push_back('"');
        return Status::Ok();
    }
  }

  Status PrintContainer(uint8_t type, std::string_view d, int depth) {
    if (depth > kMaxDepth) return Bad("nested too deeply");
    bool large = type == kLargeObject || type == kLargeArray;
    bool object = type == kSmallObject || type == kLargeObject;
    size_t os = large ? 4 : 2;
    if (d.size() < 2 * os) return Bad("truncated container header");
    uint64_t count = LoadLE(d.data(), os);
    uint64_t size = LoadLE(d.data() + os, os);
    if (size > d.size()) return Bad("container larger than its data");
    d = d.substr(0, size);
    uint64_t key_entry = object ? os + 2 : 0;
    uint64_t value_entry = 1 + os;
    if (2 * os + count * (key_entry + value_entry) > size) return Bad("container entries overflow");
    out_->push_back(object ? '{' : '[');
    for (uint64_t i = 0; i < count; i++) {
      if (i > 0) out_->append(", ");
      if (object) {
        const char* k = d.data() + 2 * os + i * key_entry;
        uint64_t key_off = LoadLE(k, os);
        uint64_t key_len = LoadLE(k + os, 2);
        if (key_off > size || key_len > size - key_off) return Bad("key out of bounds");
        AppendJsonString(d.substr(key_off, key_len), out_);
        out_->append(": ");
      }
      size_t v = 2 * os + count * key_entry + i * value_entry;
      auto vtype = static_cast<uint8_t>(d[v]);
      if (IsInlined(vtype, large)) {
        BL_RETURN_IF_ERROR(PrintValue(vtype, d.substr(v + 1, os), depth));
        continue;
      }
      uint64_t off = LoadLE(d.data() + v + 1, os);
      if (off >= size) return Bad("value out of bounds");
      BL_RETURN_IF_ERROR(PrintValue(vtype, d.substr(off), depth));
    }
    out_->push_back(object ? '}' : ']');
    return Status::Ok();
  }

  std::string* out_;
};

}  // namespace

Status JsonBinaryToText(std::string_view doc, std::string* out) {
  out->clear();
  if (doc.empty()) {
    out->append("null");
    return Status::Ok();
  }
  Printer p(out);
  return p.PrintValue(static_cast<uint8_t>(doc[0]), doc.substr(1), 0);
}

}  // namespace binlake::binlog
