// Rows reduced to bytes for `binlake verify`: a type-aware, order-preserving encoding of Arrow
// values, the 128-bit row hash, the order-independent checksum, and value text for reports
// (not a public API).
#pragma once

#include <arrow/api.h>
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/status.h"

namespace binlake::verify {

// Appends value `i` of `array`: equal values give equal bytes, different values different bytes,
// and within one type the bytes compare (memcmp) in value order, so encoded keys sort naturally.
// NULL is 0x00; a value is 0x01 then: integers, dates and timestamps as sign-flipped big-endian 64
// bits; decimals as the unscaled 128-bit value (sign-flipped, big-endian) and the scale; float and
// double by their bits (every NaN as one); strings and binaries with 0x00 escaped as 0x00 0xFF and
// ended by 0x00 0x00. NotSupported for an Arrow type the lake does not write.
Status AppendOrdered(const arrow::Array& array, int64_t i, std::string* out);

// Takes one value that AppendOrdered wrote for `type` off the front of `in` and returns its text:
// the canonical text of docs/staging.md where the lake keeps it (42, 12.50, 2024-02-29,
// 2024-02-29 23:59:59.000001, the string, binary as uppercase hex); nullopt for NULL. Values longer
// than `max_bytes` are cut and end in "...". Corruption for bytes AppendOrdered does not write.
Result<std::optional<std::string>> TakeOrderedText(const arrow::DataType& type,
                                                   std::string_view* in, size_t max_bytes = 64);
// A value's text as a literal for messages: 42, 'it''s', '2024-02-29', 0x00FF, NULL.
std::string Literal(const arrow::DataType& type, const std::optional<std::string>& text);

struct RowHash {
  uint64_t lo = 0, hi = 0;
  bool operator==(const RowHash&) const = default;
};

// SHA-256 of a row's bytes truncated to 128 bits (a real hash: the checksum is only as good as
// it). One EVP context is reused for every row; not thread-safe, one per thread.
class RowHasher {
 public:
  RowHasher();
  RowHash Hash(std::string_view bytes);

 private:
  struct FreeMd {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  };
  struct FreeCtx {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD, FreeMd> md_;
  std::unique_ptr<EVP_MD_CTX, FreeCtx> ctx_;
};

// An order-independent checksum of a multiset of rows: the count and, for each 64-bit half of the
// row hashes, their sum mod 2^64. Adding is commutative, and a row present twice counts twice.
struct Checksum {
  uint64_t rows = 0, lo = 0, hi = 0;
  void Add(const RowHash& h) {
    rows++;
    lo += h.lo;
    hi += h.hi;
  }
  void Add(const Checksum& c) {
    rows += c.rows;
    lo += c.lo;
    hi += c.hi;
  }
  bool operator==(const Checksum&) const = default;
  std::string Hex() const;  // 32 lowercase hex digits: hi then lo
};

}  // namespace binlake::verify
