// libFuzzer target: arbitrary bytes as a table's Delta log must replay or fail with a Status,
// never crash. The input is split at each "\n\x00\n" into the JSON commits 0, 1, 2, ... of one
// table (at most 8), written to a scratch folder and read back by ReadDeltaLog.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "lake/lake.h"

namespace {

const std::string& Scratch() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/binlake-delta-fuzz-XXXXXX";
    const char* made = mkdtemp(tmpl);
    if (made == nullptr) std::abort();
    return std::string(made);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  const std::string table = Scratch() + "/t";
  std::error_code ec;
  fs::remove_all(table, ec);
  fs::create_directories(table + "/_delta_log", ec);
  std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kSplit("\n\0\n", 3);
  for (int version = 0; version < 8 && !in.empty(); version++) {
    const size_t cut = in.find(kSplit);
    const std::string_view commit = in.substr(0, cut);
    char name[64];
    std::snprintf(name, sizeof name, "/_delta_log/%020d.json", version);
    std::ofstream(table + name, std::ios::binary)
        .write(commit.data(), static_cast<std::streamsize>(commit.size()));
    in = cut == std::string_view::npos ? std::string_view() : in.substr(cut + kSplit.size());
  }
  auto snap = binlake::lake::ReadDeltaLog(table);
  if (snap.ok()) {
    // A replayed log is self-consistent: a version at or above -1, sizes of its files kept.
    if (snap->version < -1) __builtin_trap();
  } else if (snap.status().message().empty()) {
    __builtin_trap();  // every failure says what is wrong
  }
  return 0;
}
