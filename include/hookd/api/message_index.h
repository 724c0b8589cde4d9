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

struct MessageFilter {
  std::set<std::string> event_types;  // empty: any
  std::string channel;                // empty: any

  bool empty() const { return event_types.empty() && channel.empty(); }
  bool matches(const MessageEntry& entry) const;
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
  void add(MessageEntry entry);
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
  using ById = std::map<std::string_view, MessageEntry>;
  struct AppMessages {
    ById by_id;
    std::unordered_map<std::string, std::string> id_by_event_id;
    std::unordered_set<std::string> reserved;
  };
  void evict_locked();

  using App = std::unordered_map<std::string, AppMessages>::value_type;

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, AppMessages> apps_;
  // The application of each indexed message, oldest add first (elements of
  // apps_ keep their address until erased; forget_app takes its own out).
  std::deque<App*> order_;
  std::size_t count_ = 0;
};

}  // namespace hookd::api
