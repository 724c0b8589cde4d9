#include "hookd/api/message_index.h"

#include <algorithm>

namespace hookd::api {

bool MessageFilter::matches(const MessageEntry& entry) const {
  if (!event_types.empty() && !event_types.count(entry.event_type)) return false;
  return channel.empty() ||
         std::find(entry.channels.begin(), entry.channels.end(), channel) != entry.channels.end();
}

MessageIndex::MessageIndex(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

bool MessageIndex::reserve(const std::string& app_id, const std::string& event_id) {
  if (event_id.empty()) return true;
  std::lock_guard lock(mutex_);
  AppMessages& app = apps_[app_id];
  if (app.id_by_event_id.count(event_id)) return false;
  return app.reserved.insert(event_id).second;
}

void MessageIndex::release(const std::string& app_id, const std::string& event_id) {
  if (event_id.empty()) return;
  std::lock_guard lock(mutex_);
  if (auto it = apps_.find(app_id); it != apps_.end()) it->second.reserved.erase(event_id);
}

void MessageIndex::add(MessageEntry entry) {
  // The node is made before the lock, its key pointed at its own entry's id.
  ById scratch;
  ById::node_type node =
      scratch.extract(scratch.emplace(std::string_view(), std::move(entry)).first);
  node.key() = node.mapped().id;
  const MessageEntry& added = node.mapped();
  std::lock_guard lock(mutex_);
  App& app = *apps_.try_emplace(added.app_id).first;
  AppMessages& messages = app.second;
  if (!added.event_id.empty()) {
    messages.reserved.erase(added.event_id);
    messages.id_by_event_id[added.event_id] = added.id;
  }
  // Ids are time-ordered: a new message nearly always goes last, where the
  // hint puts it without walking the tree.
  messages.by_id.insert(messages.by_id.end(), std::move(node));
  if (!node.empty()) return;  // indexed already
  ++count_;
  order_.push_back(&app);
  evict_locked();
}

void MessageIndex::evict_locked() {
  // The oldest message of the application that got the oldest add: with
  // time-ordered ids, the first in its map.
  while (count_ > capacity_ && !order_.empty()) {
    AppMessages& messages = order_.front()->second;
    order_.pop_front();
    if (messages.by_id.empty()) continue;
    auto oldest = messages.by_id.begin();
    if (!oldest->second.event_id.empty()) messages.id_by_event_id.erase(oldest->second.event_id);
    messages.by_id.erase(oldest);
    --count_;
  }
}

void MessageIndex::forget_app(const std::string& app_id) {
  std::lock_guard lock(mutex_);
  auto it = apps_.find(app_id);
  if (it == apps_.end()) return;
  count_ -= it->second.by_id.size();
  const App* gone = &*it;
  std::erase_if(order_, [gone](const App* app) { return app == gone; });
  apps_.erase(it);
}

std::optional<MessageEntry> MessageIndex::find(const std::string& app_id,
                                               std::string_view id_or_event_id) const {
  std::lock_guard lock(mutex_);
  auto app = apps_.find(app_id);
  if (app == apps_.end()) return std::nullopt;
  std::string key(id_or_event_id);
  if (auto it = app->second.by_id.find(key); it != app->second.by_id.end()) return it->second;
  if (auto event = app->second.id_by_event_id.find(key);
      event != app->second.id_by_event_id.end()) {
    if (auto it = app->second.by_id.find(event->second); it != app->second.by_id.end()) {
      return it->second;
    }
  }
  return std::nullopt;
}

Page<MessageEntry> MessageIndex::list(const std::string& app_id, ListQuery query,
                                      const MessageFilter& filter,
                                      std::vector<MessageEntry>& storage) const {
  query.descending = true;
  query.walk_up_from_after = true;
  Page<MessageEntry> out;
  std::lock_guard lock(mutex_);
  auto app = apps_.find(app_id);
  if (app == apps_.end()) return out;
  auto page = paginate(app->second.by_id, query,
                       [&](const MessageEntry& entry) { return filter.matches(entry); });
  // Copies: the entries may go once the lock is released.
  storage.clear();
  storage.reserve(page.items.size());
  for (const MessageEntry* entry : page.items)
    storage.push_back(*entry);
  for (const MessageEntry& entry : storage)
    out.items.push_back(&entry);
  out.done = page.done;
  set_iterators(out, [](const MessageEntry& entry) { return entry.id; });
  return out;
}

std::size_t MessageIndex::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

}  // namespace hookd::api
