// stream_fields / event_from_fields: an event survives the trip through a
// stream entry, Svix message fields included.
#include <catch2/catch.hpp>

#include "hookd/queue/stream_entry.h"

using namespace hookd;

TEST_CASE("an event round-trips through stream fields") {
  Event e;
  e.id = "evt-1";
  e.type = "session.close";
  e.timestamp = "2026-01-02T03:04:05Z";
  e.payload_json = R"({"exit_code":0,"text":"a\"b"})";
  e.arrival_unix_ms = 1767323045123;
  auto back = event_from_fields(stream_fields(e));
  REQUIRE(back);
  CHECK(back->id == e.id);
  CHECK(back->type == e.type);
  CHECK(back->timestamp == e.timestamp);
  CHECK(back->payload_json == e.payload_json);
  CHECK(back->arrival_unix_ms == e.arrival_unix_ms);
  CHECK_FALSE(back->message);
}

TEST_CASE("svix message fields round-trip through stream fields") {
  Event e;
  e.id = "msg_2abc";
  e.type = "invoice.paid";
  e.timestamp = "2026-01-02T03:04:05Z";
  e.payload_json = "{}";
  e.message = MessageFields{"app_1", "ev-9", {"eu", "us"}};
  auto back = event_from_fields(stream_fields(e));
  REQUIRE(back);
  REQUIRE(back->message);
  CHECK(back->message->app_id == "app_1");
  CHECK(back->message->event_id == "ev-9");
  CHECK(back->message->channels == std::vector<std::string>{"eu", "us"});
}

TEST_CASE("fields that are not an event are refused") {
  CHECK_FALSE(event_from_fields({}));
  CHECK_FALSE(event_from_fields({{"e", "not json"}}));
  CHECK_FALSE(event_from_fields(
      {{"e", R"({"id":"a","type":"t","timestamp":"x","payload":{}})"}, {"m", "garbage"}}));
}

TEST_CASE("a retry note round-trips and malformed notes are refused") {
  RetryNote note{3, 1767323045123};
  auto back = parse_retry_note(retry_note_text(note));
  REQUIRE(back);
  CHECK(back->failures == 3);
  CHECK(back->due_unix_ms == 1767323045123);
  for (const char* bad : {"", "3", "3:", ":5", "0:5", "x:5", "3:5x", "-1:5", "3:5:6"}) {
    INFO(bad);
    CHECK_FALSE(parse_retry_note(bad));
  }
}

TEST_CASE("a stream entry is an event or a dead letter replayed for one group") {
  struct Case {
    const char* name;
    StreamFields fields;
    bool valid;
    std::string id;
    std::string dead_letter;
    std::string only_for;
  };
  const std::string event =
      R"({"id":"ev-1","type":"t","timestamp":"2026-01-02T03:04:05Z","payload":{}})";
  const std::vector<Case> cases = {
      {"an event", {{"e", event}, {"a", "5"}, {"m", ""}}, true, "ev-1", "", ""},
      {"an event ignores o", {{"e", event}, {"o", "endpoint:a"}}, true, "ev-1", "", ""},
      {"a replay",
       {{"i", "ev-2"}, {"d", "{line}"}, {"o", "endpoint:a"}},
       true,
       "ev-2",
       "{line}",
       "endpoint:a"},
      {"a replay without its group", {{"i", "ev-2"}, {"d", "{line}"}}, false, "", "", ""},
      {"a replay without its id", {{"d", "{line}"}, {"o", "endpoint:a"}}, false, "", "", ""},
      {"neither", {{"x", "y"}}, false, "", "", ""},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto entry = stream_entry_from_fields("1-0", c.fields);
    REQUIRE(entry.has_value() == c.valid);
    if (!entry) continue;
    CHECK(entry->stream_id == "1-0");
    CHECK(entry->event.id == c.id);
    CHECK(entry->dead_letter == c.dead_letter);
    CHECK(entry->only_for == c.only_for);
  }
}
