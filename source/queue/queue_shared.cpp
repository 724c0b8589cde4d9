#include "queue_shared.h"

namespace hookd {

void RecentEvents::remember(const Event& event) {
  if (capacity_ == 0) return;
  auto [it, fresh] = events_.insert_or_assign(event.id, event);
  if (!fresh) return;
  order_.push_back(it->first);
  while (order_.size() > capacity_) {
    events_.erase(order_.front());
    order_.pop_front();
  }
}

const Event* RecentEvents::find(std::string_view id) const {
  auto it = events_.find(std::string(id));
  return it == events_.end() ? nullptr : &it->second;
}

void QueueShared::hand_over(const std::string& consumer, std::vector<StreamEntry> entries,
                            const std::map<std::string, RetryNote>& retries) {
  std::vector<std::function<void(std::uint64_t)>> wake;
  {
    std::lock_guard lock(mutex);
    auto buffer = buffers.find(consumer);
    if (buffer == buffers.end()) return;  // unregistered meanwhile
    bool added = false;
    for (auto& entry : entries) {
      if (entry.dead_letter.empty()) recent.remember(entry.event);
      auto note = retries.find(entry.stream_id);
      RetryNote retry = note == retries.end() ? RetryNote{} : note->second;
      added = buffer->second.add(entry.stream_id, std::move(entry.event), retry,
                                 std::move(entry.dead_letter)) ||
              added;
    }
    if (added) wake = listeners;
  }
  // Listeners only post work; called unlocked so that one may read at once.
  for (auto& listener : wake)
    listener(0);
}

std::size_t QueueShared::held(const std::string& consumer) const {
  std::lock_guard lock(mutex);
  auto buffer = buffers.find(consumer);
  return buffer == buffers.end() ? 0 : buffer->second.size();
}

}  // namespace hookd
