#include "hookd/delivery/event_status_log.h"

#include <algorithm>
#include <boost/json.hpp>

#include "hookd/core/event.h"

namespace hookd {

namespace json = boost::json;

std::string_view state_name(DeliveryState state) {
  switch (state) {
    case DeliveryState::pending:
      return "pending";
    case DeliveryState::delivered:
      return "delivered";
    case DeliveryState::dead_letter:
      return "dead_letter";
    case DeliveryState::filtered:
      return "filtered";
  }
  return "pending";
}

EventStatusLog::EventStatusLog(std::size_t capacity, std::size_t max_attempts)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      max_attempts_(std::max<std::size_t>(max_attempts, 1)) {}

EventStatusLog::Record& EventStatusLog::record(const std::string& id) {
  auto it = records_.find(id);
  if (it != records_.end()) return it->second;
  while (records_.size() >= capacity_ && !order_.empty()) {
    records_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(id);
  return records_[id];
}

void EventStatusLog::set_state(const std::string& id, DeliveryState state) {
  std::lock_guard<std::mutex> lock(mutex_);
  record(id).state = state;
}

void EventStatusLog::add_attempt(const std::string& id, AttemptRecord attempt) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& attempts = record(id).attempts;
  attempts.push_back(std::move(attempt));
  while (attempts.size() > max_attempts_)
    attempts.pop_front();
}

bool EventStatusLog::contains(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_.count(id) != 0;
}

std::string status_json_of(DeliveryState state, const std::vector<AttemptRecord>& attempts) {
  json::object o;
  o["state"] = state_name(state);
  json::array list;
  for (const auto& a : attempts) {
    json::object x;
    x["at"] = format_rfc3339(a.at_ms);
    x["status"] = a.status == 0 ? json::value(nullptr) : json::value(a.status);
    x["error"] = a.error.empty() ? json::value(nullptr) : json::value(a.error);
    x["duration_ms"] = a.duration_ms;
    list.push_back(std::move(x));
  }
  o["attempts"] = std::move(list);
  return json::serialize(o);
}

std::string EventStatusLog::status_json(const std::string& id, DeliveryState otherwise) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return status_json_of(otherwise, {});
  return status_json_of(it->second.state, {it->second.attempts.begin(), it->second.attempts.end()});
}

}  // namespace hookd
