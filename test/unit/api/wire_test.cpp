// message_json: the MessageOut every create answers with, written by hand,
// is exactly Svix's shape, for every combination of eventId, channels and
// payload, with what must be escaped escaped, and reads back as the same JSON.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "hookd/api/wire.h"

namespace {

using hookd::api::MessageEntry;
namespace json = boost::json;

MessageEntry entry() {
  MessageEntry e;
  e.id = "msg_2fuzzfuzzfuzzfuzzfuzzfuzz";
  e.app_id = "app_2fuzzfuzzfuzzfuzzfuzzfuzz";
  e.event_type = "session.open";
  e.timestamp = "2026-11-19T07:06:40.123Z";
  return e;
}

}  // namespace

TEST_CASE("message_json writes a message without eventId or channels", "[wire]") {
  CHECK(hookd::api::message_json(entry(), R"({"a":1})") ==
        R"({"eventId":null,"eventType":"session.open","payload":{"a":1},"channels":null,)"
        R"("id":"msg_2fuzzfuzzfuzzfuzzfuzzfuzz","timestamp":"2026-11-19T07:06:40.123Z"})");
}

TEST_CASE("message_json writes eventId and channels, escaped", "[wire]") {
  MessageEntry e = entry();
  e.event_id = "evt-1";
  e.channels = {"a", "b\"c\\", std::string("d\x01", 2)};
  const std::string out = hookd::api::message_json(e, "{}");
  CHECK(out == R"({"eventId":"evt-1","eventType":"session.open","payload":{},)"
               R"("channels":["a","b\"c\\","d\u0001"],"id":"msg_2fuzzfuzzfuzzfuzzfuzzfuzz",)"
               R"("timestamp":"2026-11-19T07:06:40.123Z"})");
  json::value back = json::parse(out);
  CHECK(back.at("channels").at(1) == "b\"c\\");
  CHECK(back.at("channels").at(2) == json::string_view("d\x01", 2));
}

TEST_CASE("message_json marks an expired payload and keeps one channel", "[wire]") {
  MessageEntry e = entry();
  e.channels = {"only"};
  CHECK(hookd::api::message_json(e, "") ==
        R"({"eventId":null,"eventType":"session.open","payload":{"expired":true},)"
        R"("channels":["only"],"id":"msg_2fuzzfuzzfuzzfuzzfuzzfuzz",)"
        R"("timestamp":"2026-11-19T07:06:40.123Z"})");
}

TEST_CASE("message_json escapes a quote, backslash or control byte wherever it is", "[wire]") {
  // Each escapable byte at every position of a 20-byte name (word-wise and
  // tail checks both), next to UTF-8 that must stay as it is.
  const std::string ascii = "abcdefghijklmnopqr", base = ascii + "\xc3\xa9";
  for (char special : {'"', '\\', '\x01', '\n', '\x1f'}) {
    for (std::size_t at = 0; at < ascii.size(); ++at) {
      std::string name = base;
      name[at] = special;
      MessageEntry e = entry();
      e.event_id = name;
      e.channels = {name, "plain"};
      const std::string out = hookd::api::message_json(e, "{}");
      INFO("byte " << int(special) << " at " << at);
      for (char c : out)
        CHECK(static_cast<unsigned char>(c) >= 0x20);
      json::value back = json::parse(out);
      CHECK(back.at("eventId") == json::string_view(name));
      CHECK(back.at("channels").at(0) == json::string_view(name));
      CHECK(back.at("channels").at(1) == "plain");
    }
  }
  MessageEntry e = entry();
  e.channels = {"caf\xc3\xa9-\xe2\x82\xac"};
  CHECK(hookd::api::message_json(e, "{}").find("\"caf\xc3\xa9-\xe2\x82\xac\"") !=
        std::string::npos);
}
