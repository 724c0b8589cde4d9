// QueueMetrics: what the Redis Streams backend shows on /metrics — Redis's
// view of the shared queue (stream lengths, pending entries per group,
// polled), this node's traffic with it (appends and their round trip,
// claims, dead letters, retry notes, lost connections) and the limits it
// was started with. The series are the process registry's; updates are
// atomic, so any thread may count. Private to source/queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "hookd/core/metrics.h"
#include "hookd/queue/redis_queue.h"

struct redisReply;

namespace hookd {

class QueueMetrics {
 public:
  // Registers every series, the limits set from `options`.
  explicit QueueMetrics(const RedisQueueOptions& options);

  void appended(std::size_t fresh, std::size_t duplicates, std::chrono::nanoseconds round_trip);
  void claimed(const std::string& group, std::size_t entries, std::size_t with_retry);
  void dead_lettered(const std::string& group, std::size_t entries);
  void retry_noted() { retries_noted_.inc(); }
  void connected(bool up);
  // A reply to XLEN of the stream, XLEN of the dead-letter stream and XINFO
  // GROUPS of the stream.
  void stream_length(const redisReply* reply);
  void dead_stream_length(const redisReply* reply);
  void groups(const redisReply* reply);

 private:
  Counter& appended_;
  Counter& duplicates_;
  Histogram& round_trip_;
  Counter& retries_noted_;
  Counter& losses_;
  Counter& connects_;
  Gauge& connected_;
  Gauge& stream_length_;
  Gauge& dead_length_;
};

}  // namespace hookd
