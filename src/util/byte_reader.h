// The one bounds-checked little-endian byte reader: every decode of untrusted bytes goes through
// it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "util/status.h"

namespace binlake {

// Reads from a fixed window; a read past the end returns false and consumes nothing, so a bad
// length can never read into the next event. Callers turn a false into a Corruption naming what was
// read.
class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  explicit ByteReader(std::string_view s)
      : data_(reinterpret_cast<const uint8_t*>(s.data())), size_(s.size()) {}

  size_t size() const { return size_; }
  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool empty() const { return pos_ >= size_; }
  const uint8_t* current() const { return data_ + pos_; }
  const uint8_t* data() const { return data_; }

  bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = data_[pos_++];
    return true;
  }
  // Unsigned little-endian integer of 1..8 bytes.
  bool ReadUIntLE(size_t n, uint64_t* v) {
    if (n > 8 || n > remaining()) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    *v = x;
    return true;
  }
  // Unsigned big-endian integer of 1..8 bytes (DECIMAL, temporal2 and JSON-free formats use it).
  bool ReadUIntBE(size_t n, uint64_t* v) {
    if (n > 8 || n > remaining()) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x = (x << 8) | data_[pos_ + i];
    pos_ += n;
    *v = x;
    return true;
  }
  bool ReadU16(uint16_t* v) { return ReadLE(v); }
  bool ReadU32(uint32_t* v) { return ReadLE(v); }
  bool ReadU64(uint64_t* v) { return ReadLE(v); }
  bool ReadBytes(size_t n, std::string_view* out) {
    if (n > remaining()) return false;
    *out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return true;
  }
  // MySQL length-encoded ("packed") integer: <251 one byte, 252 +2, 253 +3, 254 +8. 251 is NULL
  // in result sets and an error here.
  bool ReadPackedInt(uint64_t* v) {
    uint8_t first;
    if (!ReadU8(&first)) return false;
    if (first < 251) {
      *v = first;
      return true;
    }
    size_t n = first == 252 ? 2 : first == 253 ? 3 : first == 254 ? 8 : 0;
    if (n == 0 || !ReadUIntLE(n, v)) {
      pos_--;
      return false;
    }
    return true;
  }
  // A sub-reader over the next n bytes (consumed from this one).
  bool Sub(size_t n, ByteReader* out) {
    if (n > remaining()) return false;
    *out = ByteReader(data_ + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  template <typename T>
  bool ReadLE(T* v) {
    uint64_t x;
    if (!ReadUIntLE(sizeof(T), &x)) return false;
    *v = static_cast<T>(x);
    return true;
  }

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t pos_ = 0;
};

}  // namespace binlake
