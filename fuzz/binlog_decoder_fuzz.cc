// libFuzzer target: arbitrary bytes as a binlog file must decode or fail cleanly, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "binlog/decoder.h"

namespace {

class CountingSink : public binlake::binlog::EventSink {
 public:
  binlake::Status OnRow(const binlake::binlog::EventContext&,
                        const binlake::binlog::RowChange& row) override {
    for (const auto& v : row.after) sum_ += v.text.size();
    for (const auto& v : row.before) sum_ += v.text.size();
    return {};
  }
  size_t sum_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // Checksums off, so mutations reach the event bodies instead of failing the CRC32.
  binlake::binlog::DecoderOptions opts;
  opts.verify_checksum = false;
  opts.max_event_size = 64 << 20;
  binlake::binlog::Decoder decoder(opts);
  CountingSink sink;
  (void)binlake::binlog::DecodeBinlogBuffer(bytes, "fuzz", &decoder, &sink);
  return 0;
}
