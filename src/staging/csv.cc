// The one CSV dialect of the change files (docs/staging.md): RFC 4180 plus DMS's NULL token.
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "staging/records.h"
#include "staging/staging.h"

namespace binlake::staging {

namespace {

bool NeedsQuotes(std::string_view text, const CsvOptions& options) {
  // A value equal to the NULL token is quoted so that only NULL is written bare as the token.
  if (text == options.null_value) return true;
  for (char ch : text) {
    if (ch == options.delimiter || ch == '"' || ch == '\r' || ch == '\n') return true;
  }
  return false;
}

}  // namespace

void AppendCsvRecord(std::span<const Cell> cells, const CsvOptions& options, std::string* out) {
  bool first = true;
  for (const Cell& cell : cells) {
    if (!first) out->push_back(options.delimiter);
    first = false;
    if (cell.is_null) {
      out->append(options.null_value);
    } else if (!NeedsQuotes(cell.text, options)) {
      out->append(cell.text);
    } else {
      out->push_back('"');
      for (char ch : cell.text) {
        if (ch == '"') out->push_back('"');
        out->push_back(ch);
      }
      out->push_back('"');
    }
  }
}

CsvReader::CsvReader(std::string_view data, const CsvOptions& options, size_t expected_fields,
                     size_t first_line)
    : data_(data), next_line_(first_line), options_(options), expected_(expected_fields) {}

bool CsvReader::Fail(const std::string& what) {
  status_ = Status::Corruption("CSV line " + std::to_string(line_) + ": " + what +
                               " (is [capture.csv] the dialect the file was written in? if so, "
                               "the file is damaged: restore it or re-capture the table)");
  return false;
}

bool CsvReader::Next(std::vector<std::optional<std::string>>* fields) {
  if (!NextViews(&views_)) {
    fields->clear();
    return false;
  }
  fields->resize(views_.size());
  for (size_t i = 0; i < views_.size(); i++) {
    auto& slot = (*fields)[i];
    if (!views_[i]) {
      slot.reset();
    } else if (slot) {
      slot->assign(*views_[i]);  // keeps the string's buffer from record to record
    } else {
      slot.emplace(*views_[i]);
    }
  }
  return true;
}

bool CsvReader::NextViews(std::vector<std::optional<std::string_view>>* fields) {
  fields->clear();
  if (!status_.ok() || pos_ >= data_.size()) return false;
  const size_t n = data_.size();
  const char* data = data_.data();
  const char delim = options_.delimiter;
  record_start_ = pos_;
  // Bytes that end or break an unquoted field.
  bool special[256] = {};
  special[static_cast<unsigned char>(delim)] = true;
  special[static_cast<unsigned char>('\n')] = true;
  special[static_cast<unsigned char>('\r')] = true;
  special[static_cast<unsigned char>('"')] = true;
  line_ = next_line_;
  while (true) {
    if (pos_ < n && data[pos_] == '"') {
      const size_t quote_line = next_line_;
      const size_t begin = ++pos_;
      std::string* own = nullptr;  // set once a doubled quote is met
      while (true) {
        const void* q = pos_ < n ? std::memchr(data + pos_, '"', n - pos_) : nullptr;
        if (q == nullptr) {
          return Fail("unterminated quote (opened on line " + std::to_string(quote_line) + ")");
        }
        const size_t end = static_cast<size_t>(static_cast<const char*>(q) - data);
        next_line_ += static_cast<size_t>(std::count(data + pos_, data + end, '\n'));
        if (end + 1 < n && data[end + 1] == '"') {
          if (own == nullptr) {
            if (unquoted_.size() <= fields->size()) unquoted_.resize(fields->size() + 1);
            own = &unquoted_[fields->size()];
            own->assign(data + begin, end - begin);
          } else {
            own->append(data + pos_, end - pos_);
          }
          own->push_back('"');
          pos_ = end + 2;
          continue;
        }
        if (own != nullptr) {
          own->append(data + pos_, end - pos_);
          fields->emplace_back(std::string_view(*own));
        } else {
          fields->emplace_back(std::string_view(data + begin, end - begin));
        }
        pos_ = end + 1;
        break;
      }
    } else {
      const size_t begin = pos_;
      while (true) {
        while (pos_ < n && !special[static_cast<unsigned char>(data[pos_])]) ++pos_;
        if (pos_ >= n) break;
        const char ch = data[pos_];
        if (ch == delim || ch == '\n') break;
        if (ch == '\r') {
          if (pos_ + 1 < n && data[pos_ + 1] == '\n') break;
          ++pos_;
          continue;
        }
        return Fail("quote inside an unquoted field");
      }
      const std::string_view text(data + begin, pos_ - begin);
      if (text == options_.null_value) {
        fields->emplace_back(std::nullopt);
      } else {
        fields->emplace_back(text);
      }
    }
    if (pos_ >= n) break;
    const char ch = data[pos_];
    if (ch == delim) {
      ++pos_;
      continue;
    }
    if (ch == '\n') {
      ++pos_;
      ++next_line_;
      break;
    }
    if (ch == '\r' && pos_ + 1 < n && data[pos_ + 1] == '\n') {
      pos_ += 2;
      ++next_line_;
      break;
    }
    return Fail("text after a closing quote");
  }
  if (expected_ != 0 && fields->size() != expected_) {
    return Fail(std::to_string(fields->size()) + " fields, expected " + std::to_string(expected_));
  }
  return true;
}

namespace {

// How many bytes of [p, p + n) equal `c`: eight at a time (SWAR), the hot loop of block reading.
size_t CountByte(const char* p, size_t n, char c) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  const uint64_t pattern = kOnes * static_cast<unsigned char>(c);
  size_t total = 0;
  while (n >= 8) {
    // Per byte lane: 1 where the byte equals c; lanes summed over up to 255 words at a time.
    uint64_t lanes = 0;
    const size_t words = std::min<size_t>(n / 8, 255);
    for (size_t w = 0; w < words; w++, p += 8) {
      uint64_t x;
      std::memcpy(&x, p, 8);
      x ^= pattern;                                  // zero bytes where equal
      const uint64_t t = ((x & kLow7) + kLow7) | x;  // high bit set where nonzero
      lanes += (~t >> 7) & kOnes;
    }
    n -= words * 8;
    lanes = (lanes & 0x00FF00FF00FF00FFULL) + ((lanes >> 8) & 0x00FF00FF00FF00FFULL);
    total += static_cast<size_t>((lanes * 0x0001000100010001ULL) >> 48);
  }
  for (; n > 0; n--, p++) total += *p == c ? 1 : 0;
  return total;
}

// The end of the last whole record in `data`: after the last LF outside quotes (a record starts
// at `data`, so a LF is outside quotes when the quotes before it are even), or 0.
size_t LastRecordEnd(std::string_view data) {
  size_t nl = data.rfind('\n');
  if (nl == std::string_view::npos) return 0;
  size_t quotes = CountByte(data.data(), nl, '"');
  while (quotes % 2 != 0) {
    const size_t prev = nl == 0 ? std::string_view::npos : data.rfind('\n', nl - 1);
    if (prev == std::string_view::npos) return 0;
    quotes -= CountByte(data.data() + prev, nl - prev, '"');
    nl = prev;
  }
  return nl + 1;
}

}  // namespace

CsvBlockReader::CsvBlockReader(std::unique_ptr<store::ObjectStore> owned,
                               std::unique_ptr<store::ObjectReader> in, std::string path,
                               size_t block_bytes)
    : owned_store_(std::move(owned)),
      in_(std::move(in)),
      path_(std::move(path)),
      block_bytes_(block_bytes < 64 ? 64 : block_bytes) {}

struct CsvBlockReader::Expected {
  uint64_t bytes = 0;
  std::string sha256;
  uint64_t read = 0;
  Sha256 hash;
};

CsvBlockReader::~CsvBlockReader() = default;

void CsvBlockReader::VerifyAgainst(uint64_t bytes, std::string sha256_hex) {
  expected_ = std::make_unique<Expected>();
  expected_->bytes = bytes;
  expected_->sha256 = std::move(sha256_hex);
}

Result<std::unique_ptr<CsvBlockReader>> CsvBlockReader::Open(store::ObjectStore& store,
                                                             const std::string& key,
                                                             size_t block_bytes) {
  BL_ASSIGN_OR_RETURN(auto in, store.Open(key));
  std::string where = store.LocalPath(key);
  if (where.empty()) where = store.uri() + "/" + key;
  return std::unique_ptr<CsvBlockReader>(
      new CsvBlockReader(nullptr, std::move(in), std::move(where), block_bytes));
}

Result<std::unique_ptr<CsvBlockReader>> CsvBlockReader::Open(const std::string& path,
                                                             size_t block_bytes) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  auto store = OpenLocalFolder(dir.empty() ? "/" : dir);
  if (!store.ok()) return Status::NotFound(path + " does not exist");
  BL_ASSIGN_OR_RETURN(auto in, (*store)->Open(name));
  return std::unique_ptr<CsvBlockReader>(
      new CsvBlockReader(std::move(*store), std::move(in), path, block_bytes));
}

Status CsvBlockReader::CheckExpected() {
  const std::string sha = expected_->hash.HexDigest();
  if (expected_->read == expected_->bytes && sha == expected_->sha256) return Status::Ok();
  return Status::Corruption(path_ + ": " + std::to_string(expected_->read) + " bytes, sha256 " +
                            sha.substr(0, 16) + "..., but its manifest says " +
                            std::to_string(expected_->bytes) + " bytes, sha256 " +
                            expected_->sha256.substr(0, 16) +
                            "...: the file is partial or altered; restore it (or re-capture it) "
                            "before applying");
}

Result<bool> CsvBlockReader::Next(std::string* block, uint64_t* first_line) {
  block->swap(carry_);
  carry_.clear();
  size_t cut = 0;
  while (true) {
    cut = LastRecordEnd(*block);
    if (eof_ || (cut > 0 && block->size() >= block_bytes_)) break;
    const size_t old = block->size();
    block->resize(old + block_bytes_);
    BL_ASSIGN_OR_RETURN(const size_t n, in_->Read(block->data() + old, block_bytes_));
    block->resize(old + n);
    if (expected_) {
      expected_->read += n;
      expected_->hash.Update(std::string_view(block->data() + old, n));
    }
    if (n == 0) {
      eof_ = true;
      if (expected_) BL_RETURN_IF_ERROR(CheckExpected());
    }
  }
  if (eof_) cut = block->size();  // the last record may lack its LF; CsvReader reports a bad one
  carry_.assign(block->data() + cut, block->size() - cut);
  block->resize(cut);
  *first_line = line_;
  line_ += CountByte(block->data(), block->size(), '\n');
  return !block->empty();
}

}  // namespace binlake::staging
