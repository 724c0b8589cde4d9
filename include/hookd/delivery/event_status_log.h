// EventStatusLog: what GET /v1/events/{id} shows for one endpoint: the
// delivery state and most recent attempts of the last `capacity` events the
// endpoint has seen (older ones are forgotten first). Thread-safe: the
// endpoint's worker writes, any reactor reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hookd {

enum class DeliveryState { pending, delivered, dead_letter, filtered };

std::string_view state_name(DeliveryState state);

struct AttemptRecord {
  std::int64_t at_ms = 0;
  int status = 0;  // 0: no response
  std::string error;
  std::int64_t duration_ms = 0;
};

// What EventStatusLog::status_json() writes, for attempts kept elsewhere
// (every node's, with --queue): the state and `attempts` in that order.
std::string status_json_of(DeliveryState state, const std::vector<AttemptRecord>& attempts);

class EventStatusLog {
 public:
  // At least one event and one attempt each are kept.
  EventStatusLog(std::size_t capacity, std::size_t max_attempts);

  void set_state(const std::string& id, DeliveryState state);
  // Keeps the most recent max_attempts.
  void add_attempt(const std::string& id, AttemptRecord attempt);

  bool contains(const std::string& id) const;

  // {"state":…,"attempts":[{"at":…,"status":…,"error":…,"duration_ms":…}]};
  // for an event without a record, `otherwise` and no attempts.
  std::string status_json(const std::string& id, DeliveryState otherwise) const;

 private:
  struct Record {
    DeliveryState state = DeliveryState::pending;
    std::deque<AttemptRecord> attempts;
  };
  Record& record(const std::string& id);  // with mutex_ held

  const std::size_t capacity_;
  const std::size_t max_attempts_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Record> records_;
  std::deque<std::string> order_;  // oldest first
};

}  // namespace hookd
