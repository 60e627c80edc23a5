// `binlake tail --config FILE`: follows a live server's binlog and prints row changes as JSON.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "binlog/client.h"
#include "binlog/decoder.h"
#include "binlog/row_json.h"
#include "binlog/stream.h"
#include "cli/commands.h"
#include "config/config.h"
#include "util/log.h"

namespace binlake::cli {
namespace {

constexpr const char* kHelp = R"(usage: binlake tail --config FILE [options]

Connects to the [source] server of the config as a replica and prints one JSON object per row
change as it streams (the format of `binlake binlog-dump`). Reconnects with backoff when the
connection drops, without losing or repeating a change. SIGINT/SIGTERM stop it cleanly and print
the position to resume from.

options:
  --config FILE       the TOML config (docs/config.md); the password comes from the environment
                      variable or file it names, never from the command line
  --from FILE:POS     start at this binlog position (default: [start] of the config, else the
                      server's current position)
  --gtid GTID         start after this MariaDB GTID state, e.g. 0-1-100
  --output FILE       write the JSON lines to FILE instead of stdout
  --echo              with --output, also print each change on stdout
  --count             print only the number of row changes when it stops
  --until-end         stop at the server's binlog end as of the start (for scripts and benchmarks)
  --max-rows N        stop after the transaction holding the N-th row change
  --enum-as-number    print ENUM as its index and SET as its bitmask
)";

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

// Compares binlog positions: file names order by their numeric suffix, which has a fixed width.
bool AtOrPast(std::string_view file, uint64_t pos, const std::string& end_file, uint64_t end_pos) {
  if (file != end_file) return file > end_file;
  return pos >= end_pos;
}

class TailSink : public binlog::EventSink {
 public:
  TailSink(std::FILE* out, bool echo, bool count_only, binlog::RowJsonOptions json)
      : out_(out), echo_(echo), count_only_(count_only), json_(json) {}

  Status OnEvent(const binlog::EventContext& ctx) override {
    last_file_.assign(ctx.file);
    last_pos_ = ctx.offset + (ctx.header ? ctx.header->event_size : 0);
    // The end position is a transaction boundary, so reaching it never stops mid-transaction.
    CheckEnd();
    return {};
  }
  Status OnRow(const binlog::EventContext& ctx, const binlog::RowChange& row) override {
    rows_++;
    if (!count_only_) binlog::AppendRowJson(ctx, row, &buf_, json_);
    if (buf_.size() > (1 << 20)) Flush();
    return {};
  }
  Status OnCommit(const binlog::EventContext&, uint64_t) override {
    Flush();
    if (max_rows_ && rows_ >= max_rows_) g_stop.store(true);
    CheckEnd();
    return {};
  }
  Status OnHeartbeat(const binlog::EventContext&) override {
    CheckEnd();
    return {};
  }
  Status OnQuery(const binlog::EventContext& ctx, std::string_view schema, std::string_view query,
                 bool is_dml) override {
    if (is_dml) {
      ReportStatementDml(ctx, schema, query);
    }
    return {};
  }
  void Flush() {
    if (buf_.empty()) return;
    std::fwrite(buf_.data(), 1, buf_.size(), out_);
    std::fflush(out_);
    if (echo_) {
      std::fwrite(buf_.data(), 1, buf_.size(), stdout);
      std::fflush(stdout);
    }
    buf_.clear();
  }
  void CheckEnd() {
    if (has_end_ && !last_file_.empty() && AtOrPast(last_file_, last_pos_, end_file_, end_pos_)) {
      g_stop.store(true);
    }
  }
  void SetEnd(std::string file, uint64_t pos) {
    has_end_ = true;
    end_file_ = std::move(file);
    end_pos_ = pos;
  }
  uint64_t max_rows_ = 0;
  uint64_t rows_ = 0;

 private:
  std::FILE* out_;
  bool echo_, count_only_;
  binlog::RowJsonOptions json_;
  std::string buf_;
  std::string last_file_;
  uint64_t last_pos_ = 0;
  bool has_end_ = false;
  std::string end_file_;
  uint64_t end_pos_ = 0;
};

}  // namespace

int TailCommand(const Args& args) {
  if (WantsHelp(args)) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  std::string config_path, from, gtid, output;
  bool echo = false, count_only = false, until_end = false;
  uint64_t max_rows = 0;
  binlog::RowJsonOptions json;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--config") {
      if (!value(&config_path)) return Fail("tail: --config needs a FILE");
    } else if (a == "--from") {
      if (!value(&from)) return Fail("tail: --from needs FILE:POS");
    } else if (a == "--gtid") {
      if (!value(&gtid)) return Fail("tail: --gtid needs a GTID such as 0-1-100");
    } else if (a == "--output") {
      if (!value(&output)) return Fail("tail: --output needs a FILE");
    } else if (a == "--max-rows") {
      if (!value(&v)) return Fail("tail: --max-rows needs N");
      max_rows = std::strtoull(v.c_str(), nullptr, 10);
    } else if (a == "--echo") {
      echo = true;
    } else if (a == "--count") {
      count_only = true;
    } else if (a == "--until-end") {
      until_end = true;
    } else if (a == "--enum-as-number") {
      json.enum_set_as_numbers = true;
    } else {
      return Fail("tail: unknown option " + a + " (see binlake tail --help)");
    }
  }
  if (config_path.empty()) return Fail("tail: --config FILE is required (see docs/config.md)");
  auto cfg = config::LoadConfig(config_path);
  if (!cfg.ok()) return Fail(cfg.status().message());
  const config::SourceConfig& src = cfg->source;

  binlog::ConnectionOptions conn = ConnectionFromConfig(src);

  binlog::StartPosition start;
  start.file = cfg->start.binlog_file;
  start.pos = cfg->start.binlog_pos;
  start.gtid = cfg->start.gtid;
  if (!from.empty()) {
    size_t colon = from.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Fail("tail: --from wants FILE:POS, e.g. binlog.000003:4");
    }
    start.file = from.substr(0, colon);
    start.pos = std::strtoull(from.c_str() + colon + 1, nullptr, 10);
    start.gtid.clear();
  }
  if (!gtid.empty()) start.gtid = gtid;

  std::FILE* out = stdout;
  if (!output.empty()) {
    out = std::fopen(output.c_str(), "a");
    if (!out) return Fail("tail: cannot open --output " + output + ": " + std::strerror(errno));
  } else {
    echo = false;
  }
  TailSink sink(out, echo, count_only, json);
  sink.max_rows_ = max_rows;
  if (until_end) {
    auto client = binlog::BinlogClient::Connect(conn);
    if (!client.ok()) return Fail(client.status().message());
    auto end = (*client)->CurrentPosition();
    if (!end.ok()) return Fail(end.status().message());
    sink.SetEnd(end->file, end->pos);
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  binlog::StreamOptions sopts;
  sopts.max_reconnect_attempts =
      src.max_reconnect_attempts == 0 ? -1 : static_cast<int>(src.max_reconnect_attempts);
  binlog::BinlogStream stream(conn, sopts);
  binlog::Decoder decoder;
  Status st = stream.Run(start, &decoder, &sink, &g_stop);
  sink.Flush();
  if (out != stdout) std::fclose(out);
  if (count_only) std::printf("%llu\n", static_cast<unsigned long long>(sink.rows_));
  if (!st.ok()) return Fail("tail: " + st.message());
  log::Info("tail stopped after " + std::to_string(sink.rows_) +
            " row changes; resume with --from " + stream.resume_file() + ":" +
            std::to_string(stream.resume_pos()));
  return 0;
}

}  // namespace binlake::cli
