#include "hookd/daemon/redis_attempt_feed.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "hookd/api/attempt_codec.h"
#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/daemon/blocking_redis.h"

namespace hookd {

namespace {

constexpr std::size_t kMaxWaiting = 100000;  // attempts kept while Redis is away
constexpr std::size_t kWriteBatch = 500;
constexpr int kReadCount = 1000;
constexpr int kBlockMs = 200;  // a publish waits at most this long behind a read
constexpr auto kTrimEvery = std::chrono::seconds(5);
constexpr auto kRetryAfter = std::chrono::milliseconds(500);

// KEYS[1] the stream; ARGV[1] the MINID below which entries are past the
// retention, then one line per attempt.
constexpr const char* kPublish = R"lua(
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', 'a', ARGV[i])
end
return #ARGV - 1
)lua";

}  // namespace

std::uint64_t attempt_stream_max_len(std::uint64_t max_bytes, std::uint64_t mean_line_bytes) {
  return std::max<std::uint64_t>(1000, max_bytes / std::max<std::uint64_t>(mean_line_bytes, 1));
}

struct RedisAttemptFeed::State {
  explicit State(RedisAttemptFeedOptions o)
      : options(std::move(o)), redis(options.url, options.tls_bridge, options.timeout) {}

  const RedisAttemptFeedOptions options;
  BlockingRedis redis;  // the feed's thread only
  std::function<void(std::vector<api::Attempt>)> consume;
  std::thread thread;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> waiting;  // lines not yet written
  std::uint64_t dropped = 0;        // from waiting's front by publish(), ever
  bool stopping = false;

  // The thread's own.
  std::string last_id = "0";
  std::uint64_t written_lines = 0;
  std::uint64_t written_bytes = 0;
  std::chrono::steady_clock::time_point last_trim{};
  bool failing = false;

  void failed(const std::string& what, const std::string& error) {
    if (!failing) log::warn("svix api: shared attempts unavailable", {{what, error}});
    failing = true;
    std::unique_lock lock(mutex);
    wake.wait_for(lock, kRetryAfter, [this] { return stopping; });
  }

  void recovered() {
    if (failing) log::info("svix api: shared attempts available again");
    failing = false;
  }

  // True when everything waiting was written.
  bool write() {
    std::vector<std::string> lines;
    std::uint64_t dropped_before = 0;
    {
      std::lock_guard lock(mutex);
      dropped_before = dropped;
      std::size_t n = std::min(waiting.size(), kWriteBatch);
      lines.assign(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(n));
    }
    if (lines.empty()) return true;
    const std::int64_t oldest_kept =
        std::max<std::int64_t>(now_unix_ms() - options.retention_ms, 0);
    std::vector<std::string> args{"EVAL", kPublish, "1", options.key, std::to_string(oldest_kept)};
    std::uint64_t bytes = 0;
    for (const auto& line : lines)
      bytes += line.size();
    args.insert(args.end(), lines.begin(), lines.end());
    auto reply = redis.call(args);
    if (!reply) {
      failed("error", reply.error().message);
      return false;
    }
    recovered();
    written_lines += lines.size();
    written_bytes += bytes;
    std::lock_guard lock(mutex);
    // publish() adds at the back, and drops from the front only beyond
    // kMaxWaiting: what it dropped of these lines is gone already.
    std::uint64_t gone = std::min<std::uint64_t>(dropped - dropped_before, lines.size());
    std::size_t written = std::min(waiting.size(), lines.size() - static_cast<std::size_t>(gone));
    waiting.erase(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(written));
    return waiting.empty();
  }

  void trim() {
    const auto now = std::chrono::steady_clock::now();
    if (written_lines == 0 || now - last_trim < kTrimEvery) return;
    last_trim = now;
    std::uint64_t max_len =
        attempt_stream_max_len(options.max_bytes, written_bytes / written_lines);
    if (auto r = redis.call({"XTRIM", options.key, "MAXLEN", "~", std::to_string(max_len)}); !r) {
      failed("error", r.error().message);
    }
  }

  // Hands over what follows last_id; blocks up to kBlockMs when `wait`.
  void read(bool wait) {
    std::vector<std::string> args{"XREAD", "COUNT", std::to_string(kReadCount)};
    if (wait) args.insert(args.end(), {"BLOCK", std::to_string(kBlockMs)});
    args.insert(args.end(), {"STREAMS", options.key, last_id});
    auto reply = redis.call(args);
    if (!reply) return failed("error", reply.error().message);
    recovered();
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return;  // nil: nothing new
    const redisReply* stream = r->element[0];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) return;
    const redisReply* entries = stream->element[1];
    std::vector<api::Attempt> batch;
    for (std::size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
      last_id = blocking_reply_text(entry->element[0]);
      const redisReply* fields = entry->element[1];
      for (std::size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
           f += 2) {
        if (blocking_reply_text(fields->element[f]) != "a") continue;
        if (auto attempt = api::parse_attempt_line(blocking_reply_text(fields->element[f + 1]))) {
          batch.push_back(std::move(*attempt));
        }
      }
    }
    if (!batch.empty()) consume(std::move(batch));
  }

  void run() {
    while (true) {
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
      }
      bool all_written = write();
      trim();
      read(all_written);
    }
  }
};

RedisAttemptFeed::RedisAttemptFeed(RedisAttemptFeedOptions options)
    : state_(std::make_shared<State>(std::move(options))) {}

RedisAttemptFeed::~RedisAttemptFeed() {
  stop();
}

void RedisAttemptFeed::publish(const api::Attempt& attempt) {
  api::Attempt shown = attempt;
  shown.response = api::attempt_response_text(attempt.response);
  std::string line = api::attempt_line(shown);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  {
    std::lock_guard lock(state_->mutex);
    state_->waiting.push_back(std::move(line));
    if (state_->waiting.size() > kMaxWaiting) {
      state_->waiting.pop_front();
      ++state_->dropped;
    }
  }
  state_->wake.notify_one();
}

void RedisAttemptFeed::start(std::function<void(std::vector<api::Attempt>)> consume) {
  State* s = state_.get();
  s->consume = std::move(consume);
  s->thread = std::thread([s] { s->run(); });
}

void RedisAttemptFeed::stop() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_one();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace hookd
