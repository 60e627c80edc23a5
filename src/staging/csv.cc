// The one CSV dialect of the change files (docs/staging.md): RFC 4180 plus DMS's NULL token.
#include <string>
#include <string_view>

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

CsvReader::CsvReader(std::string_view data, const CsvOptions& options, size_t expected_fields)
    : data_(data), options_(options), expected_(expected_fields) {}

bool CsvReader::Fail(const std::string& what) {
  status_ = Status::Corruption("CSV line " + std::to_string(line_) + ": " + what);
  return false;
}

bool CsvReader::Next(std::vector<std::optional<std::string>>* fields) {
  fields->clear();
  if (!status_.ok() || pos_ >= data_.size()) return false;
  const size_t n = data_.size();
  const char delim = options_.delimiter;
  line_ = next_line_;
  std::string field;
  while (true) {
    field.clear();
    bool quoted = false;
    if (pos_ < n && data_[pos_] == '"') {
      quoted = true;
      const size_t quote_line = next_line_;
      ++pos_;
      while (true) {
        if (pos_ >= n) {
          return Fail("unterminated quote (opened on line " + std::to_string(quote_line) + ")");
        }
        const char ch = data_[pos_++];
        if (ch == '"') {
          if (pos_ < n && data_[pos_] == '"') {
            field.push_back('"');
            ++pos_;
            continue;
          }
          break;
        }
        if (ch == '\n') ++next_line_;
        field.push_back(ch);
      }
    } else {
      const size_t begin = pos_;
      while (pos_ < n) {
        const char ch = data_[pos_];
        if (ch == delim || ch == '\n') break;
        if (ch == '\r' && pos_ + 1 < n && data_[pos_ + 1] == '\n') break;
        if (ch == '"') return Fail("quote inside an unquoted field");
        ++pos_;
      }
      field.assign(data_.substr(begin, pos_ - begin));
    }
    if (!quoted && field == options_.null_value) {
      fields->emplace_back(std::nullopt);
    } else {
      fields->emplace_back(field);
    }
    if (pos_ >= n) break;
    const char ch = data_[pos_];
    if (ch == delim) {
      ++pos_;
      continue;
    }
    if (ch == '\n') {
      ++pos_;
      ++next_line_;
      break;
    }
    if (ch == '\r' && pos_ + 1 < n && data_[pos_ + 1] == '\n') {
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

}  // namespace binlake::staging
