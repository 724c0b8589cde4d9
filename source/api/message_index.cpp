#include "hookd/api/message_index.h"

#include <algorithm>
#include <cstring>

namespace hookd::api {

IndexedMessage::IndexedMessage(std::string_view id, std::string_view app_id,
                               std::string_view event_id, std::string event_type,
                               std::vector<std::string> channels, std::string_view timestamp)
    : event_type_(std::move(event_type)), channels_(std::move(channels)) {
  const std::string_view parts[] = {id, app_id, event_id, timestamp};
  std::size_t size = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    size += parts[i].size();
    ends_[i] = static_cast<std::uint32_t>(size);
  }
  char* at = inline_;
  if (size > kInlineBytes) {
    heap_.resize(size);
    at = heap_.data();
  }
  for (std::string_view part : parts) {
    if (!part.empty()) std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
}

MessageEntry IndexedMessage::entry() const {
  return MessageEntry{
      std::string(id()), std::string(app_id()),   std::string(event_id()), event_type_,
      channels_,         std::string(timestamp())};
}

bool MessageFilter::matches(const std::string& event_type,
                            const std::vector<std::string>& channels) const {
  if (!event_types.empty() && !event_types.count(event_type)) return false;
  return channel.empty() || std::find(channels.begin(), channels.end(), channel) != channels.end();
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

void MessageIndex::add(IndexedMessage&& message) {
  // The node is made before the lock, its key pointed at its own entry's id.
  ById scratch;
  ById::node_type node =
      scratch.extract(scratch.emplace(std::string_view(), std::move(message)).first);
  node.key() = node.mapped().id();
  const IndexedMessage& added = node.mapped();
  std::lock_guard lock(mutex_);
  if (!last_app_ || last_app_->first != added.app_id()) {
    auto found = apps_.find(added.app_id());
    if (found == apps_.end()) found = apps_.try_emplace(std::string(added.app_id())).first;
    last_app_ = &*found;
  }
  App& app = *last_app_;
  AppMessages& messages = app.second;
  if (!added.event_id().empty()) {
    std::string event_id(added.event_id());
    messages.reserved.erase(event_id);
    messages.id_by_event_id[std::move(event_id)] = added.id();
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
    if (!oldest->second.event_id().empty()) {
      messages.id_by_event_id.erase(std::string(oldest->second.event_id()));
    }
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
  if (last_app_ == gone) last_app_ = nullptr;
  apps_.erase(it);
}

std::optional<MessageEntry> MessageIndex::find(const std::string& app_id,
                                               std::string_view id_or_event_id) const {
  std::lock_guard lock(mutex_);
  auto app = apps_.find(app_id);
  if (app == apps_.end()) return std::nullopt;
  if (auto it = app->second.by_id.find(id_or_event_id); it != app->second.by_id.end()) {
    return it->second.entry();
  }
  if (auto event = app->second.id_by_event_id.find(std::string(id_or_event_id));
      event != app->second.id_by_event_id.end()) {
    if (auto it = app->second.by_id.find(event->second); it != app->second.by_id.end()) {
      return it->second.entry();
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
                       [&](const IndexedMessage& message) { return filter.matches(message); });
  // Copies: the entries may go once the lock is released.
  storage.clear();
  storage.reserve(page.items.size());
  for (const IndexedMessage* message : page.items)
    storage.push_back(message->entry());
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
