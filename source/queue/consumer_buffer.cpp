#include "hookd/queue/consumer_buffer.h"

#include <utility>

namespace hookd {

bool ConsumerBuffer::add(const std::string& stream_id, Event event, RetryNote retry,
                         std::string dead_letter) {
  if (acking_.count(stream_id) != 0 || !ids_.insert(stream_id).second) return false;
  entries_.emplace(next_seq_++, Held{stream_id, std::move(event), retry, std::move(dead_letter)});
  return true;
}

std::string ConsumerBuffer::stream_id_at(std::uint64_t seq) const {
  auto it = entries_.find(seq);
  return it == entries_.end() ? std::string() : it->second.stream_id;
}

std::vector<StoredEvent> ConsumerBuffer::read(std::uint64_t after_seq, std::size_t max) const {
  std::vector<StoredEvent> out;
  for (auto it = entries_.upper_bound(after_seq); it != entries_.end() && out.size() < max; ++it) {
    const Held& held = it->second;
    out.push_back(StoredEvent{it->first, held.event, held.retry.failures, held.retry.due_unix_ms,
                              held.dead_letter});
  }
  return out;
}

std::vector<std::string> ConsumerBuffer::commit(std::uint64_t seq) {
  std::vector<std::string> done;
  if (seq <= cursor_) return done;
  cursor_ = std::min(seq, last_seq());
  auto end = entries_.upper_bound(cursor_);
  for (auto it = entries_.begin(); it != end; ++it) {
    ids_.erase(it->second.stream_id);
    acking_.insert(it->second.stream_id);
    done.push_back(std::move(it->second.stream_id));
  }
  entries_.erase(entries_.begin(), end);
  return done;
}

void ConsumerBuffer::acknowledged(const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    acking_.erase(id);
}

std::vector<std::string> ConsumerBuffer::held_ids() const {
  std::vector<std::string> ids;
  ids.reserve(entries_.size());
  for (const auto& [seq, held] : entries_)
    ids.push_back(held.stream_id);
  return ids;
}

}  // namespace hookd
