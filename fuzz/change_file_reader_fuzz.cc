// libFuzzer target: arbitrary bytes as a change file must read or fail with Corruption, never
// crash.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "staging/staging.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: bits 0-1 the delimiter, bits 2-3 the null token, bits 4-7 the field count (0: any).
  const uint8_t opts = data[0];
  binlake::staging::CsvOptions options;
  static constexpr char kDelimiters[] = {',', '\t', '|', ';'};
  static const char* const kTokens[] = {"", "\\N", "NULL", ","};
  options.delimiter = kDelimiters[opts & 3];
  options.null_value = kTokens[(opts >> 2) & 3];
  const size_t expected = opts >> 4;
  std::string_view csv(reinterpret_cast<const char*>(data + 1), size - 1);
  binlake::staging::CsvReader reader(csv, options, expected);
  std::vector<std::optional<std::string>> fields;
  while (reader.Next(&fields)) {
    if (expected != 0 && fields.size() != expected) __builtin_trap();
    // Writing a record back and reading it again gives the same fields.
    std::vector<binlake::staging::Cell> cells;
    for (const auto& f : fields) {
      cells.push_back(f ? binlake::staging::Cell{false, *f} : binlake::staging::Cell{true, {}});
    }
    std::string again;
    binlake::staging::AppendCsvRecord(cells, options, &again);
    again.push_back('\n');  // a lone NULL field with the "" token is an empty line
    // A "," token with a "," delimiter is ambiguous (Staging::Open rejects it): skip the check.
    if (options.null_value.find(options.delimiter) == std::string::npos) {
      binlake::staging::CsvReader back(again, options, fields.size());
      std::vector<std::optional<std::string>> round;
      if (!back.Next(&round) || round != fields) __builtin_trap();
    }
  }
  if (!reader.status().ok() && reader.status().code() != binlake::StatusCode::kCorruption) {
    __builtin_trap();
  }
  return 0;
}
