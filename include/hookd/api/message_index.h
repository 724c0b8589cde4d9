// MessageIndex: the Svix API's view of the messages in the journal, per
// application: listing newest first, lookup by id or eventId, and the
// eventId uniqueness check. Payloads stay in the journal (looked up by
// message id); the index holds only the small fields, at most `capacity`
// messages (the oldest are forgotten first: they stay readable through
// GET /v1/events/{id} until the journal drops them). Rebuilt from the
// journal at start-up. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hookd/api/pagination.h"

namespace hookd::api {

struct MessageEntry {
  std::string id;  // "msg_...", also the journal event id
  std::string app_id;
  std::string event_id;  // "" when none
  std::string event_type;
  std::vector<std::string> channels;  // empty: none
  std::string timestamp;              // RFC 3339, creation
};

// A message as the index keeps it: the same fields, with the id, the app
// id, the eventId and the time in one buffer, inside the object when they
// fit (they do unless the eventId is long), so that an indexed message is
// one allocation, its map node, instead of five: message create makes one
// per request. Built before the index takes it, on the creating thread. A
// value type; not synchronised.
class IndexedMessage {
 public:
  IndexedMessage() = default;
  IndexedMessage(std::string_view id, std::string_view app_id, std::string_view event_id,
                 std::string event_type, std::vector<std::string> channels,
                 std::string_view timestamp);
  explicit IndexedMessage(const MessageEntry& entry)
      : IndexedMessage(entry.id, entry.app_id, entry.event_id, entry.event_type, entry.channels,
                       entry.timestamp) {}

  std::string_view id() const { return part(0); }
  std::string_view app_id() const { return part(1); }
  std::string_view event_id() const { return part(2); }
  std::string_view timestamp() const { return part(3); }
  const std::string& event_type() const { return event_type_; }
  const std::vector<std::string>& channels() const { return channels_; }

  MessageEntry entry() const;

 private:
  // A msg_ id, an app_ id and a time with milliseconds are 86 bytes.
  static constexpr std::size_t kInlineBytes = 128;

  const char* text() const { return heap_.empty() ? inline_ : heap_.data(); }
  std::string_view part(std::size_t i) const {
    const std::size_t start = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text() + start, ends_[i] - start);
  }

  // id, app id, eventId, timestamp, back to back: in inline_ when they
  // fit, else in heap_.
  char inline_[kInlineBytes] = {};
  std::string heap_;
  std::uint32_t ends_[4] = {};  // where each part ends
  std::string event_type_;
  std::vector<std::string> channels_;
};

struct MessageFilter {
  std::set<std::string> event_types;  // empty: any
  std::string channel;                // empty: any

  bool empty() const { return event_types.empty() && channel.empty(); }
  bool matches(const IndexedMessage& message) const {
    return matches(message.event_type(), message.channels());
  }
  bool matches(const MessageEntry& entry) const {
    return matches(entry.event_type, entry.channels);
  }
  bool matches(const std::string& event_type, const std::vector<std::string>& channels) const;
};

class MessageIndex {
 public:
  explicit MessageIndex(std::size_t capacity);

  // Claims `event_id` for a message of `app_id` being appended: false when
  // a stored or pending message already has it. "" always succeeds.
  bool reserve(const std::string& app_id, const std::string& event_id);
  // Gives a claim back (the append failed).
  void release(const std::string& app_id, const std::string& event_id);
  // Records a durable message (and drops its claim).
  void add(IndexedMessage&& message);
  void add(const MessageEntry& entry) { add(IndexedMessage(entry)); }
  // Forgets every message of a deleted application.
  void forget_app(const std::string& app_id);

  std::optional<MessageEntry> find(const std::string& app_id,
                                   std::string_view id_or_event_id) const;

  // One page, newest first (ListQuery::descending is forced).
  Page<MessageEntry> list(const std::string& app_id, ListQuery query, const MessageFilter& filter,
                          std::vector<MessageEntry>& storage) const;

  std::size_t size() const;

 private:
  // Keyed by a view of the entry's own id (map nodes never move, and an
  // indexed entry is never changed): no second copy of every id.
  using ById = std::map<std::string_view, IndexedMessage>;
  struct AppMessages {
    ById by_id;
    std::unordered_map<std::string, std::string> id_by_event_id;
    std::unordered_set<std::string> reserved;
  };
  void evict_locked();

  // Finds apps_' entries by a view too: no key string made per add.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using Apps = std::unordered_map<std::string, AppMessages, Hash, std::equal_to<>>;
  using App = Apps::value_type;

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Apps apps_;
  // The application of each indexed message, oldest add first (elements of
  // apps_ keep their address until erased; forget_app takes its own out).
  std::deque<App*> order_;
  // The application of the last add: messages come in runs of one
  // application, and a hit skips hashing its id. Reset by forget_app.
  App* last_app_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace hookd::api
