// A binlog stream that survives disconnects: BinlogClient + Decoder + reconnect with backoff,
// delivering every event to the sink exactly once.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "binlog/client.h"
#include "binlog/decoder.h"
#include "util/status.h"

namespace binlake::binlog {

struct StreamOptions {
  // Consecutive failed reconnects before Run gives up; -1: retry forever (tail).
  int max_reconnect_attempts = -1;
  uint32_t initial_backoff_ms = 100;  // doubles per failed attempt, with jitter
  uint32_t max_backoff_ms = 10000;
  // Test hook: drop the connection after every N delivered events (0: never), to exercise the
  // mid-transaction resume path deterministically.
  uint64_t test_disconnect_every_n_events = 0;
};

class BinlogStream {
 public:
  explicit BinlogStream(ConnectionOptions connection, StreamOptions options = {});

  // Streams from `start` into decoder -> sink until *stop becomes true (checked after every event
  // and heartbeat, so at least every heartbeat period) and then returns Ok. Network errors
  // reconnect at the start of the current transaction and replay the already delivered part of it
  // silently; sink, decoding and server errors (purged binlog, access denied) end Run.
  Status Run(const StartPosition& start, Decoder* decoder, EventSink* sink,
             const std::atomic<bool>* stop);

  // Where a restart resumes without losing or splitting a transaction: the position after the last
  // event that ended a transaction or stood outside one. Read from the sink or after Run.
  const std::string& resume_file() const { return resume_file_; }
  uint64_t resume_pos() const { return resume_pos_; }
  // Successful reconnects so far.
  uint64_t reconnects() const { return reconnects_; }
  bool is_mariadb() const { return is_mariadb_; }

 private:
  Status Session(const StartPosition& from, Decoder* decoder, EventSink* sink,
                 const std::atomic<bool>* stop, bool* connected);
  bool Backoff(int attempt, const std::atomic<bool>* stop);

  ConnectionOptions connection_;
  StreamOptions options_;
  std::string resume_file_;
  uint64_t resume_pos_ = 0;
  std::string delivered_file_;  // position after the last event the sink saw
  uint64_t delivered_pos_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t delivered_events_ = 0;
  bool is_mariadb_ = false;
};

}  // namespace binlake::binlog
