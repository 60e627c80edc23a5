// `binlake binlog-dump FILE...`: decodes binlog files offline into JSON lines.
#include <cstdio>
#include <string>

#include "binlog/decoder.h"
#include "binlog/row_json.h"
#include "cli/commands.h"

namespace binlake::cli {
namespace {

constexpr const char* kHelp = R"(usage: binlake binlog-dump [options] FILE...

Decodes binlog files (MySQL 5.1 to 8.x, MariaDB) and prints one JSON object per row change:
  {"pos":"file:offset","gtid":...,"op":"I|U|D","schema":...,"table":...,"before":{...},"after":{...}}
Files are read in the order given, as one stream (table maps carry over). Statement-based DML is
reported on stderr with its position. A corrupt or truncated file stops with an error naming the
file and offset, and exit code 1.

options:
  --no-verify-checksum   do not verify event CRC32 checksums
  --enum-as-number       print ENUM as its 1-based index and SET as its bitmask, not names
  --help                 this text
)";

class DumpSink : public binlog::EventSink {
 public:
  DumpSink(std::FILE* out, binlog::RowJsonOptions options) : out_(out), options_(options) {
    buf_.reserve(1 << 20);
  }
  ~DumpSink() override { Flush(); }

  Status OnRow(const binlog::EventContext& ctx, const binlog::RowChange& row) override {
    binlog::AppendRowJson(ctx, row, &buf_, options_);
    rows_++;
    if (buf_.size() > (1 << 20)) Flush();
    return {};
  }
  Status OnQuery(const binlog::EventContext& ctx, std::string_view schema, std::string_view query,
                 bool is_dml) override {
    if (is_dml) {
      Flush();
      ReportStatementDml(ctx, schema, query);
    }
    return {};
  }
  void Flush() {
    if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }
  uint64_t rows() const { return rows_; }

 private:
  std::FILE* out_;
  binlog::RowJsonOptions options_;
  std::string buf_;
  uint64_t rows_ = 0;
};

}  // namespace

int BinlogDumpCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  binlog::DecoderOptions opts;
  binlog::RowJsonOptions json_opts;
  std::vector<std::string> files;
  for (const auto& a : args) {
    if (a == "--no-verify-checksum") {
      opts.verify_checksum = false;
    } else if (a == "--enum-as-number") {
      json_opts.enum_set_as_numbers = true;
    } else if (a.starts_with("-")) {
      return Fail("binlog-dump: unknown option " + a + " (see binlake binlog-dump --help)");
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) return Fail("binlog-dump: no binlog FILE given (see --help)");
  binlog::Decoder decoder(opts);
  DumpSink sink(stdout, json_opts);
  for (const auto& f : files) {
    Status st = binlog::DecodeBinlogFile(f, &decoder, &sink);
    if (!st.ok()) {
      sink.Flush();
      std::fflush(stdout);
      return Fail(st.message());
    }
  }
  return 0;
}

}  // namespace binlake::cli
