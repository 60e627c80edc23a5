// Reconnect and exactly-once delivery: resume at the start of the open transaction and re-decode
// (silently) up to the last delivered event, so the decoder rebuilds table maps and GTID state.
#include "binlog/stream.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "binlog/event.h"

namespace binlake::binlog {
namespace {

// Receives the replayed part of a transaction: the decoder needs the events, the user does not.
class SilentSink : public EventSink {
 public:
  Status OnRow(const EventContext&, const RowChange&) override { return {}; }
};

}  // namespace

BinlogStream::BinlogStream(ConnectionOptions connection, StreamOptions options)
    : connection_(std::move(connection)), options_(options) {}

Status BinlogStream::Run(const StartPosition& start, Decoder* decoder, EventSink* sink,
                         const std::atomic<bool>* stop) {
  if (start.gtid.empty() && !start.file.empty()) {
    resume_file_ = start.file;
    resume_pos_ = std::max<uint64_t>(start.pos, 4);
  }
  int attempt = 0;
  bool first = true;
  while (!stop->load()) {
    StartPosition from = start;
    if (!resume_file_.empty()) from = StartPosition{resume_file_, resume_pos_, ""};
    bool connected = false;
    const auto began = std::chrono::steady_clock::now();
    const uint64_t delivered_before = delivered_events_;
    Status st = Session(from, decoder, sink, stop, &connected);
    // A session that connects but dies again before a new event (a connection cut at the same
    // place every time) is no recovery: the attempts count on until it delivers or lasts a while.
    const bool moved = delivered_events_ != delivered_before;
    const bool lasted = std::chrono::steady_clock::now() - began > std::chrono::seconds(30);
    if (connected) {
      if (!first) reconnects_++;
      first = false;
      if (moved || lasted) attempt = 0;
    }
    if (st.ok()) return st;  // stopped
    if (st.code() != StatusCode::kNetwork) return st;
    attempt++;
    if (options_.max_reconnect_attempts >= 0 && attempt > options_.max_reconnect_attempts) {
      return st.WithContext("giving up after " + std::to_string(attempt - 1) +
                            " reconnect attempts without progress (check the server and the "
                            "network; [source] max_reconnect_attempts = 0 retries forever)");
    }
    if (!Backoff(attempt, stop)) break;
  }
  return Status::Ok();
}

bool BinlogStream::Backoff(int attempt, const std::atomic<bool>* stop) {
  uint64_t base = options_.initial_backoff_ms;
  for (int i = 1; i < attempt && base < options_.max_backoff_ms; i++) base *= 2;
  base = std::min<uint64_t>(base, options_.max_backoff_ms);
  // Jitter in [base/2, base] so many replicas do not reconnect in lockstep.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t ms = base / 2 + (base ? rng() % (base / 2 + 1) : 0);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stop->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint64_t>(ms, 20)));
  }
  return !stop->load();
}

Status BinlogStream::Session(const StartPosition& from, Decoder* decoder, EventSink* sink,
                             const std::atomic<bool>* stop, bool* connected) {
  BL_ASSIGN_OR_RETURN(std::unique_ptr<BinlogClient> client, BinlogClient::Connect(connection_));
  is_mariadb_ = client->is_mariadb();
  BL_RETURN_IF_ERROR(client->StartDump(from));
  *connected = true;
  // The open transaction is re-read from its start: forget its half-built state.
  decoder->ResetTransactionState();
  if (!client->file().empty()) decoder->SetFile(client->file());
  if (resume_file_.empty() && !client->file().empty()) {
    resume_file_ = client->file();  // start from the current position, now resolved
    resume_pos_ = client->pos();
  }
  // Replay (silently) while the stream is behind what the sink already saw.
  bool replaying = !delivered_file_.empty() &&
                   (resume_file_ != delivered_file_ || resume_pos_ != delivered_pos_);
  SilentSink silent;
  while (!stop->load()) {
    BL_ASSIGN_OR_RETURN(std::string_view ev, client->Next());
    EventHeader h;
    BL_RETURN_IF_ERROR(ParseEventHeader(ev, &h).WithContext("mysql " + client->endpoint()));
    const bool real = (h.flags & kLogEventArtificialFlag) == 0 && h.log_pos != 0 &&
                      h.type != kHeartbeat && h.type != kHeartbeatV2;
    if (replaying && real &&
        (client->file() != delivered_file_ || client->pos() > delivered_pos_)) {
      replaying = false;  // first event the sink has not seen
    }
    BL_RETURN_IF_ERROR(decoder->Decode(ev, client->event_offset(), replaying ? &silent : sink));
    if (h.type == kRotate) decoder->SetFile(client->file());
    if (real || h.type == kRotate) {
      if (!replaying) {
        delivered_file_ = client->file();
        delivered_pos_ = client->pos();
      }
      if (!decoder->in_transaction()) {
        resume_file_ = client->file();
        resume_pos_ = client->pos();
      }
    }
    if (!replaying) delivered_events_++;
    if (options_.test_disconnect_every_n_events && !replaying &&
        delivered_events_ % options_.test_disconnect_every_n_events == 0) {
      client->Disconnect();
    }
  }
  return Status::Ok();
}

}  // namespace binlake::binlog
