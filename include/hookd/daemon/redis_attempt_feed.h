// RedisAttemptFeed: the AttemptFeed of --queue, the stream <prefix>attempts
// (field "a": attempt_line without its '\n'). Its thread writes what was
// published (one script call per batch, trimming entries older than the
// retention with MINID) and reads the stream after the last entry it
// handed over; every few seconds it also trims the stream to about
// max_bytes (MAXLEN from the mean line size). Redis down: attempts wait in
// memory (the oldest dropped beyond kMaxWaiting) and the thread tries again
// on a back-off; nothing blocks a caller. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hookd/api/attempt_feed.h"
#include "hookd/queue/redis_url.h"

namespace hookd {

class RedisTlsBridge;

struct RedisAttemptFeedOptions {
  RedisUrl url;
  std::shared_ptr<RedisTlsBridge> tls_bridge;
  std::string key = "hookd:attempts";
  std::int64_t retention_ms = 30LL * 24 * 3600 * 1000;  // --attempt-retention
  std::uint64_t max_bytes = 256ull << 20;               // --attempt-max-bytes
  std::chrono::milliseconds timeout{5000};
};

class RedisAttemptFeed : public api::AttemptFeed {
 public:
  explicit RedisAttemptFeed(RedisAttemptFeedOptions options);
  ~RedisAttemptFeed() override;  // stop()

  void publish(const api::Attempt& attempt) override;
  void start(std::function<void(std::vector<api::Attempt>)> consume) override;
  void stop() override;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// How many entries of `mean_line_bytes` fit in `max_bytes` (at least 1000,
// so a cap set very low still lists recent attempts).
std::uint64_t attempt_stream_max_len(std::uint64_t max_bytes, std::uint64_t mean_line_bytes);

}  // namespace hookd
