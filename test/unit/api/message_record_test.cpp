// A Svix API message is an Event with MessageFields: the journal keeps them
// (record format 2) through append, read, lookup and a reopen, and leaves
// plain events and their webhook body (to_json) as they were.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/message_fields_text.h"
#include "hookd/journal/journal.h"
#include "support/support.h"

namespace {

hookd::Event message_event() {
  hookd::Event event;
  event.id = "msg_3MrjNnJX1bVtAQvUcbiymATlHLg";
  event.type = "session.open";
  event.timestamp = "2026-12-01T08:59:02.674Z";
  event.payload_json = R"({"event_type":"session.open","id":"s-1"})";
  event.arrival_unix_ms = 1796115542674;
  event.message = hookd::MessageFields{"app_3MrjNn14vqEwN13RPhlz8sk34di", "evt-\"1\"", {"a", "b"}};
  return event;
}

hookd::Event plain_event() {
  hookd::Event event;
  event.id = "evt-plain";
  event.type = "session.close";
  event.timestamp = "2026-12-01T08:59:03.000Z";
  event.payload_json = "{}";
  event.arrival_unix_ms = 1796115543000;
  return event;
}

void append(hookd::Journal& journal, std::vector<hookd::Event> events) {
  std::promise<hookd::AppendResult> done;
  journal.append(std::move(events), [&done](hookd::AppendResult r) { done.set_value(r); });
  REQUIRE(done.get_future().get().code == hookd::AppendResult::Code::ok);
}

void check_fields(const hookd::Event& event) {
  REQUIRE(event.message);
  CHECK(event.message->app_id == "app_3MrjNn14vqEwN13RPhlz8sk34di");
  CHECK(event.message->event_id == "evt-\"1\"");
  CHECK(event.message->channels == std::vector<std::string>{"a", "b"});
  CHECK(event.payload_json == message_event().payload_json);
  CHECK(event.type == "session.open");
}

}  // namespace

TEST_CASE("message fields survive the journal, plain events stay plain", "[api][journal]") {
  hookd::test::TempDir dir;
  hookd::JournalOptions options;
  options.dir = dir.path() / "journal";
  {
    auto journal = hookd::open_file_journal(options);
    REQUIRE(journal.ok());
    append(**journal, {message_event(), plain_event()});
    auto stored = (*journal)->lookup(message_event().id);
    REQUIRE(stored);
    check_fields(stored->event);
    (*journal)->close();
  }
  auto journal = hookd::open_file_journal(options);
  REQUIRE(journal.ok());
  auto read = (*journal)->read(0, 10);
  REQUIRE(read.ok());
  REQUIRE(read->size() == 2);
  check_fields((*read)[0].event);
  CHECK_FALSE((*read)[1].event.message);
  CHECK((*read)[1].event.payload_json == "{}");
  (*journal)->close();

  // The webhook body is the same with or without the fields.
  hookd::Event without = message_event();
  without.message.reset();
  CHECK(hookd::to_json(message_event()) == hookd::to_json(without));
  CHECK(boost::json::parse(hookd::to_json(message_event())).as_object().size() == 4);
}

TEST_CASE("message fields encode and decode, and refuse what encode never wrote",
          "[api][journal]") {
  const hookd::MessageFields fields{"app_x", "", {}};
  auto back = hookd::decode_message_fields(hookd::encode_message_fields(fields));
  REQUIRE(back);
  CHECK(back->app_id == "app_x");
  CHECK(back->event_id.empty());
  CHECK(back->channels.empty());
  for (const char* text : {"", "{}", "[]", R"({"app":1,"eventId":"","channels":[]})",
                           R"({"app":"a","eventId":"","channels":[1]})", "{"}) {
    CAPTURE(text);
    CHECK_FALSE(hookd::decode_message_fields(text));
  }
}

TEST_CASE("Message fields take the length message_fields_size says, escapes included",
          "[api][journal]") {
  std::vector<hookd::MessageFields> cases = {
      {"app_1", "", {}},
      {"app_1", "evt-\"1\"\\", {"a"}},
      {"app_\x01", std::string("e\n\t\0x", 5), {"a", "b\"", "", "c\x1f"}},
  };
  for (const hookd::MessageFields& fields : cases) {
    const std::string text = hookd::encode_message_fields(fields);
    CHECK(text.size() == hookd::message_fields_size(fields));
    std::string written(hookd::message_fields_size(fields) + 1, '#');
    char* end = hookd::write_message_fields(written.data(), fields);
    CHECK(end == written.data() + text.size());
    CHECK(written.substr(0, text.size()) == text);
    CHECK(written.back() == '#');
    auto decoded = hookd::decode_message_fields(text);
    REQUIRE(decoded);
    CHECK(decoded->app_id == fields.app_id);
    CHECK(decoded->event_id == fields.event_id);
    CHECK(decoded->channels == fields.channels);
  }
}
