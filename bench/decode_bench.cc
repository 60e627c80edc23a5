// Decoder throughput: decodes binlog files (every cell of every row) and reports row events/s.
// usage: decode_bench [--repeat N] FILE...   (prints the best of N runs as JSON on stdout)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "binlog/decoder.h"

namespace {

class CountingSink : public binlake::binlog::EventSink {
 public:
  binlake::Status OnRow(const binlake::binlog::EventContext&,
                        const binlake::binlog::RowChange& row) override {
    rows_++;
    // Touch the decoded values so the work cannot be optimized away.
    for (const auto& v : row.after) check_ += v.u + v.text.size();
    return {};
  }
  uint64_t rows_ = 0;
  uint64_t check_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int repeat = 3;
  std::vector<std::string> files;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: decode_bench [--repeat N] FILE...\n");
    return 2;
  }
  double best = 1e100;
  uint64_t rows = 0;
  for (int r = 0; r < repeat; r++) {
    binlake::binlog::Decoder decoder;
    CountingSink sink;
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& f : files) {
      binlake::Status st = binlake::binlog::DecodeBinlogFile(f, &decoder, &sink);
      if (!st.ok()) {
        std::fprintf(stderr, "decode_bench: %s\n", st.ToString().c_str());
        return 1;
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, secs);
    rows = sink.rows_;
  }
  std::printf("{\"rows\": %llu, \"seconds\": %.4f, \"rows_per_second\": %.0f}\n",
              static_cast<unsigned long long>(rows), best, rows / best);
  return 0;
}
