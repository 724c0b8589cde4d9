#include "queue_metrics.h"

#include <hiredis/hiredis.h>

#include "redis_connection.h"

namespace hookd {

namespace {

constexpr const char* kClaimed = "hookd_queue_claimed_entries_total";
constexpr const char* kRetriesTaken = "hookd_queue_retries_taken_over_total";
constexpr const char* kDead = "hookd_queue_dead_lettered_entries_total";
constexpr const char* kPending = "hookd_queue_pending_entries";
constexpr const char* kLag = "hookd_queue_group_lag_entries";

void limit(const char* name, const char* help, double value) {
  metrics().gauge(name, help).set(value);
}

}  // namespace

QueueMetrics::QueueMetrics(const RedisQueueOptions& options)
    : appended_(metrics().counter("hookd_queue_appended_events_total",
                                  "Events this node appended to the Redis stream")),
      duplicates_(metrics().counter("hookd_queue_duplicate_events_total",
                                    "Events Redis found within the dedupe window, not appended")),
      round_trip_(metrics().histogram("hookd_queue_append_seconds",
                                      "Round trip of one append script to Redis",
                                      latency_buckets_seconds())),
      retries_noted_(metrics().counter(
          "hookd_queue_retries_noted_total",
          "Delivery retries this node recorded in Redis (so another node can take them over)")),
      losses_(metrics().counter("hookd_queue_connection_losses_total",
                                "Times the command connection to Redis failed or was lost")),
      connects_(metrics().counter("hookd_queue_connects_total",
                                  "Successful (re)connections of the command connection")),
      connected_(metrics().gauge("hookd_queue_connected",
                                 "1 while the command connection to Redis is up")),
      stream_length_(
          metrics().gauge("hookd_queue_stream_entries", "Entries in the event stream (XLEN)")),
      dead_length_(metrics().gauge("hookd_queue_dead_letter_stream_entries",
                                   "Entries in the dead-letter stream (XLEN)")) {
  limit("hookd_queue_max_len", "--queue-max-len: the stream's MAXLEN bound",
        static_cast<double>(options.max_len));
  limit("hookd_queue_max_deliveries",
        "--max-deliveries: hand-outs of an entry before the dead-letter stream",
        static_cast<double>(options.max_deliveries));
  limit("hookd_queue_claim_idle_seconds",
        "--claim-idle: idle time after which other nodes claim an entry",
        std::chrono::duration<double>(options.claim_idle).count());
  limit("hookd_queue_dedupe_window_seconds", "--dedupe-window: how long Redis remembers an id",
        static_cast<double>(options.dedupe_window.count()));
  limit("hookd_queue_max_held_entries",
        "Entries one consumer holds on this node before it reads no more",
        static_cast<double>(options.max_held));
}

void QueueMetrics::appended(std::size_t fresh, std::size_t duplicates,
                            std::chrono::nanoseconds round_trip) {
  appended_.inc(static_cast<double>(fresh));
  duplicates_.inc(static_cast<double>(duplicates));
  round_trip_.observe(std::chrono::duration<double>(round_trip).count());
}

void QueueMetrics::claimed(const std::string& group, std::size_t entries, std::size_t with_retry) {
  metrics()
      .counter(kClaimed, "Entries this node claimed from idle consumers", {{"group", group}})
      .inc(static_cast<double>(entries));
  metrics()
      .counter(kRetriesTaken, "Claimed entries that came with another node's retry schedule",
               {{"group", group}})
      .inc(static_cast<double>(with_retry));
}

void QueueMetrics::dead_lettered(const std::string& group, std::size_t entries) {
  metrics()
      .counter(kDead, "Entries this node moved to the dead-letter stream (--max-deliveries)",
               {{"group", group}})
      .inc(static_cast<double>(entries));
}

void QueueMetrics::connected(bool up) {
  if (up) connects_.inc();
  if (!up) losses_.inc();
  connected_.set(up ? 1 : 0);
}

void QueueMetrics::stream_length(const redisReply* reply) {
  if (reply && reply->type == REDIS_REPLY_INTEGER)
    stream_length_.set(static_cast<double>(reply->integer));
}

void QueueMetrics::dead_stream_length(const redisReply* reply) {
  if (reply && reply->type == REDIS_REPLY_INTEGER)
    dead_length_.set(static_cast<double>(reply->integer));
}

// Every node's groups, as Redis counts them: an entry pending is handed out
// and not acknowledged; lag is what the group has not read yet.
void QueueMetrics::groups(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return;
  for (std::size_t g = 0; g < reply->elements; ++g) {
    const redisReply* info = reply->element[g];
    if (info->type != REDIS_REPLY_ARRAY) continue;
    std::string name;
    const redisReply* pending = nullptr;
    const redisReply* lag = nullptr;
    for (std::size_t i = 0; i + 1 < info->elements; i += 2) {
      std::string key = reply_text(info->element[i]);
      if (key == "name") name = reply_text(info->element[i + 1]);
      if (key == "pending") pending = info->element[i + 1];
      if (key == "lag") lag = info->element[i + 1];
    }
    if (name.empty()) continue;
    if (pending && pending->type == REDIS_REPLY_INTEGER) {
      metrics()
          .gauge(kPending, "Entries handed out in a group and not acknowledged (all nodes)",
                 {{"group", name}})
          .set(static_cast<double>(pending->integer));
    }
    // Nil when Redis cannot tell (after a trim or XDEL): left as it was.
    if (lag && lag->type == REDIS_REPLY_INTEGER) {
      metrics()
          .gauge(kLag, "Entries of the stream a group has not read yet", {{"group", name}})
          .set(static_cast<double>(lag->integer));
    }
  }
}

}  // namespace hookd
