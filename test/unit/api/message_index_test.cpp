// MessageIndex: lookup by id and eventId, the eventId claim, newest-first
// lists, and the bound forgetting the oldest messages first across
// applications, also after one of them is forgotten.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/api/ids.h"
#include "hookd/api/message_index.h"

namespace {

using hookd::api::ListQuery;
using hookd::api::MessageEntry;
using hookd::api::MessageFilter;
using hookd::api::MessageIndex;

MessageEntry entry(const std::string& app, const std::string& event_id = "") {
  return MessageEntry{hookd::api::new_id("msg_"), app, event_id, "session.open", {},
                      "2026-12-01T00:00:00.000Z"};
}

std::vector<std::string> listed(const MessageIndex& index, const std::string& app) {
  ListQuery query;
  query.limit = 250;
  std::vector<MessageEntry> storage;
  auto page = index.list(app, query, MessageFilter{}, storage);
  std::vector<std::string> ids;
  for (const MessageEntry* e : page.items)
    ids.push_back(e->id);
  return ids;
}

}  // namespace

TEST_CASE("MessageIndex finds messages by id and eventId and claims eventIds", "[message_index]") {
  MessageIndex index(100);
  REQUIRE(index.reserve("app_a", "evt-1"));
  CHECK_FALSE(index.reserve("app_a", "evt-1"));  // pending
  CHECK(index.reserve("app_b", "evt-1"));        // per application
  MessageEntry first = entry("app_a", "evt-1");
  index.add(first);
  CHECK_FALSE(index.reserve("app_a", "evt-1"));  // stored
  REQUIRE(index.find("app_a", first.id));
  CHECK(index.find("app_a", "evt-1")->id == first.id);
  CHECK_FALSE(index.find("app_b", first.id));
  index.release("app_b", "evt-1");
  CHECK(index.reserve("app_b", "evt-1"));
  index.add(first);  // indexed already: counted once
  CHECK(index.size() == 1);
}

TEST_CASE("MessageIndex forgets the oldest messages beyond its capacity", "[message_index]") {
  MessageIndex index(5);
  std::vector<MessageEntry> added;
  for (int i = 0; i < 12; ++i) {
    added.push_back(entry(i % 3 == 0 ? "app_a" : "app_b", "e" + std::to_string(i)));
    index.add(added.back());
    REQUIRE(index.size() == static_cast<std::size_t>(std::min(i + 1, 5)));
  }
  for (int i = 0; i < 12; ++i) {
    const std::string& app = added[i].app_id;
    CAPTURE(i);
    CHECK(index.find(app, added[i].id).has_value() == (i >= 7));
    CHECK(index.find(app, added[i].event_id).has_value() == (i >= 7));
  }
  CHECK(listed(index, "app_a") == std::vector<std::string>{added[9].id});
  CHECK(listed(index, "app_b") ==
        std::vector<std::string>{added[11].id, added[10].id, added[8].id, added[7].id});
}

TEST_CASE("MessageIndex keeps its bound after an application is forgotten", "[message_index]") {
  MessageIndex index(4);
  for (int i = 0; i < 3; ++i)
    index.add(entry("app_gone"));
  index.add(entry("app_kept"));
  index.forget_app("app_gone");
  CHECK(index.size() == 1);
  std::vector<MessageEntry> kept;
  for (int i = 0; i < 6; ++i) {
    kept.push_back(entry("app_kept"));
    index.add(kept.back());
  }
  CHECK(index.size() == 4);
  CHECK(listed(index, "app_kept") ==
        std::vector<std::string>{kept[5].id, kept[4].id, kept[3].id, kept[2].id});
  CHECK(listed(index, "app_gone").empty());
}
