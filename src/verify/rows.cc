// Row bytes, hashes and value text for verify: one encoding serves the checksum and the key order.
#include "verify/rows.h"

#include <arrow/util/decimal.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "lake/lake.h"

namespace binlake::verify {
namespace {

void AppendBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int b = bytes - 1; b >= 0; b--) out->push_back(static_cast<char>(v >> (8 * b)));
}

// Signed integers sort as unsigned once the sign bit is flipped.
void AppendInt(int64_t v, std::string* out) {
  AppendBigEndian(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63), 8, out);
}

// IEEE bits sort as unsigned once negatives are inverted and positives get the sign bit.
template <typename Bits>
void AppendFloatBits(Bits bits, std::string* out) {
  constexpr Bits kSign = Bits{1} << (sizeof(Bits) * 8 - 1);
  bits = (bits & kSign) ? ~bits : (bits | kSign);
  AppendBigEndian(bits, sizeof(Bits), out);
}

void AppendEscaped(std::string_view bytes, std::string* out) {
  for (char c : bytes) {
    out->push_back(c);
    if (c == '\0') out->push_back('\xff');
  }
  out->push_back('\0');
  out->push_back('\0');
}

std::string_view BytesAt(const arrow::Array& a, int64_t i) {
  switch (a.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(a).GetView(i);
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
    default:
      return {};
  }
}

int64_t TimestampMicros(const arrow::TimestampArray& a, int64_t i) {
  const int64_t v = a.Value(i);
  switch (static_cast<const arrow::TimestampType&>(*a.type()).unit()) {
    case arrow::TimeUnit::SECOND:
      return v * 1000000;
    case arrow::TimeUnit::MILLI:
      return v * 1000;
    case arrow::TimeUnit::NANO:
      return v / 1000;
    default:
      return v;
  }
}

std::string Cut(std::string s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut--;  // UTF-8 start
  s.resize(cut);
  return s + "...";
}

}  // namespace

Status AppendOrdered(const arrow::Array& a, int64_t i, std::string* out) {
  if (a.IsNull(i)) {
    out->push_back('\0');
    return Status::Ok();
  }
  out->push_back('\x01');
  switch (a.type_id()) {
    case arrow::Type::INT8:
      AppendInt(static_cast<const arrow::Int8Array&>(a).Value(i), out);
      break;
    case arrow::Type::INT16:
      AppendInt(static_cast<const arrow::Int16Array&>(a).Value(i), out);
      break;
    case arrow::Type::INT32:
      AppendInt(static_cast<const arrow::Int32Array&>(a).Value(i), out);
      break;
    case arrow::Type::INT64:
      AppendInt(static_cast<const arrow::Int64Array&>(a).Value(i), out);
      break;
    case arrow::Type::DATE32:
      AppendInt(static_cast<const arrow::Date32Array&>(a).Value(i), out);
      break;
    case arrow::Type::TIMESTAMP:
      AppendInt(TimestampMicros(static_cast<const arrow::TimestampArray&>(a), i), out);
      break;
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Array&>(a);
      const arrow::Decimal128 v(d.GetValue(i));
      AppendBigEndian(static_cast<uint64_t>(v.high_bits()) ^ (uint64_t{1} << 63), 8, out);
      AppendBigEndian(v.low_bits(), 8, out);
      out->push_back(
          static_cast<char>(static_cast<const arrow::Decimal128Type&>(*a.type()).scale()));
      break;
    }
    case arrow::Type::FLOAT: {
      const float f = static_cast<const arrow::FloatArray&>(a).Value(i);
      AppendFloatBits(std::isnan(f) ? uint32_t{0x7FC00000} : std::bit_cast<uint32_t>(f), out);
      break;
    }
    case arrow::Type::DOUBLE: {
      const double d = static_cast<const arrow::DoubleArray&>(a).Value(i);
      AppendFloatBits(std::isnan(d) ? uint64_t{0x7FF8000000000000} : std::bit_cast<uint64_t>(d),
                      out);
      break;
    }
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      AppendEscaped(BytesAt(a, i), out);
      break;
    default:
      return Status::NotSupported("Arrow type " + a.type()->ToString() +
                                  " is not one the lake writes (docs/lake.md \"Types\")");
  }
  return Status::Ok();
}

Result<std::optional<std::string>> TakeOrderedText(const arrow::DataType& type,
                                                   std::string_view* in, size_t max_bytes) {
  auto bad = [&] {
    return Status::Corruption("encoded " + type.ToString() + " value is truncated or malformed");
  };
  if (in->empty()) return bad();
  const char tag = in->front();
  in->remove_prefix(1);
  if (tag == '\0') return std::optional<std::string>();
  if (tag != '\x01') return bad();
  auto take = [&](size_t bytes, uint64_t* v) {
    if (in->size() < bytes) return false;
    *v = 0;
    for (size_t b = 0; b < bytes; b++) *v = (*v << 8) | static_cast<unsigned char>((*in)[b]);
    in->remove_prefix(bytes);
    return true;
  };
  uint64_t u = 0;
  switch (type.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP: {
      if (!take(8, &u)) return bad();
      const auto v = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
      if (type.id() == arrow::Type::DATE32) return std::optional<std::string>(lake::FormatDate(v));
      if (type.id() == arrow::Type::TIMESTAMP)
        return std::optional<std::string>(lake::FormatMicros(v, ' '));
      return std::optional<std::string>(std::to_string(v));
    }
    case arrow::Type::DECIMAL128: {
      uint64_t lo = 0;
      if (!take(8, &u) || !take(8, &lo) || in->empty()) return bad();
      const int scale = static_cast<unsigned char>(in->front());  // 0..38 in the lake
      in->remove_prefix(1);
      return std::optional<std::string>(
          arrow::Decimal128(static_cast<int64_t>(u ^ (uint64_t{1} << 63)), lo).ToString(scale));
    }
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: {
      const bool is_float = type.id() == arrow::Type::FLOAT;
      const int bits = is_float ? 32 : 64;
      if (!take(bits / 8, &u)) return bad();
      const uint64_t sign = uint64_t{1} << (bits - 1);
      const uint64_t mask = is_float ? 0xFFFFFFFFULL : ~uint64_t{0};
      u = (u & sign) ? (u & ~sign) : (~u & mask);
      char buf[32];
      auto r = is_float ? std::to_chars(buf, buf + sizeof(buf),
                                        std::bit_cast<float>(static_cast<uint32_t>(u)))
                        : std::to_chars(buf, buf + sizeof(buf), std::bit_cast<double>(u));
      return std::optional<std::string>(std::string(buf, r.ptr));
    }
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: {
      std::string bytes;
      for (;;) {
        if (in->empty()) return bad();
        const char c = in->front();
        in->remove_prefix(1);
        if (c != '\0') {
          bytes.push_back(c);
          continue;
        }
        if (in->empty()) return bad();
        const char next = in->front();
        in->remove_prefix(1);
        if (next == '\0') break;
        if (next != '\xff') return bad();
        bytes.push_back('\0');
      }
      if (type.id() == arrow::Type::STRING || type.id() == arrow::Type::LARGE_STRING) {
        return std::optional<std::string>(Cut(std::move(bytes), max_bytes));
      }
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string hex;
      for (unsigned char c : std::string_view(bytes).substr(0, max_bytes / 2 + 1)) {
        hex.push_back(kHex[c >> 4]);
        hex.push_back(kHex[c & 15]);
      }
      return std::optional<std::string>(Cut(std::move(hex), max_bytes));
    }
    default:
      return Status::NotSupported("Arrow type " + type.ToString() +
                                  " is not one the lake writes (docs/lake.md \"Types\")");
  }
}

std::string Literal(const arrow::DataType& type, const std::optional<std::string>& text) {
  if (!text) return "NULL";
  switch (type.id()) {
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
      return "0x" + *text;
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP: {
      std::string out = "'";
      for (char c : *text) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
      }
      return out + "'";
    }
    default:
      return *text;
  }
}

RowHasher::RowHasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {}

RowHash RowHasher::Hash(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex2(ctx_.get(), md_.get(), nullptr);
  EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  EVP_DigestFinal_ex(ctx_.get(), digest, &len);
  RowHash h;
  std::memcpy(&h.lo, digest, 8);
  std::memcpy(&h.hi, digest + 8, 8);
  return h;
}

std::string Checksum::Hex() const {
  char out[40];
  std::snprintf(out, sizeof(out), "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return out;
}

}  // namespace binlake::verify
