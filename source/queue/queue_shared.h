// QueueShared: what RedisQueue's callers (reactor threads) and its own thread
// both touch, behind one mutex: each consumer's held entries, the recent
// events lookup() answers from, the durable listeners. Private to
// source/queue.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "hookd/queue/consumer_buffer.h"

namespace hookd {

// The last `capacity` events by id, oldest forgotten first. Not thread-safe.
class RecentEvents {
 public:
  explicit RecentEvents(std::size_t capacity) : capacity_(capacity) {}
  void remember(const Event& event);
  const Event* find(std::string_view id) const;

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, Event> events_;
  std::deque<std::string> order_;
};

struct QueueShared {
  explicit QueueShared(std::size_t recent_capacity) : recent(recent_capacity) {}

  mutable std::mutex mutex;
  std::map<std::string, ConsumerBuffer, std::less<>> buffers;  // by consumer name
  RecentEvents recent;
  std::vector<std::function<void(std::uint64_t)>> listeners;
  std::string problem = "not connected yet";  // empty: writable

  // Adds what a group handed this node, with the retry notes of entries
  // other nodes had failed to deliver (by stream id); wakes the consumers
  // when any is new.
  // A replayed dead letter is not remembered for lookup(): it holds no event.
  void hand_over(const std::string& consumer, std::vector<StreamEntry> entries,
                 const std::map<std::string, RetryNote>& retries = {});
  std::size_t held(const std::string& consumer) const;
};

}  // namespace hookd
