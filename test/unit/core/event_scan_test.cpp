// parse_events reads a body that is one event object in one pass, without a
// JSON tree; an array of events still goes through the tree. The two readers
// must agree: the same event from `{...}` and from `[{...}]`, byte for byte,
// and a payload exactly as Boost.JSON's serializer writes it.
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "hookd/core/event.h"

namespace json = boost::json;
using hookd::Event;
using hookd::parse_events;
using hookd::ParseOptions;

namespace {

ParseOptions fixed(std::size_t max_depth = 64) {
  ParseOptions options;
  options.now_unix_ms = 1795515302123;
  options.max_depth = max_depth;
  return options;
}

// The event of `body` as a single object (one pass) and as the only element
// of an array (the tree); both must be accepted and agree (on the id too,
// unless the body has none and each got a new one).
void same_either_way(const std::string& body, bool has_id = true) {
  INFO(body);
  auto single = parse_events(body, fixed());
  REQUIRE(single.ok());
  auto array = parse_events("[" + body + "]", fixed(65));
  REQUIRE(array.ok());
  REQUIRE(single->size() == 1);
  REQUIRE(array->size() == 1);
  const Event& a = single->front();
  const Event& b = array->front();
  CHECK(a.type == b.type);
  CHECK(a.timestamp == b.timestamp);
  CHECK(a.payload_json == b.payload_json);
  if (has_id) CHECK(a.id == b.id);
}

std::string event_with_payload(const std::string& payload) {
  return R"({"type":"session.open","id":"evt_1","payload":)" + payload + "}";
}

// A random JSON value without doubles (Boost.JSON 1.81 may read one double
// text differently depending on the bytes after it, which the array form
// changes) and without repeated keys (the tree keeps one of them).
json::value random_value(std::mt19937& rng, int depth) {
  std::uniform_int_distribution<int> pick(0, depth > 4 ? 4 : 7);
  static const std::vector<std::string> kTexts = {"",
                                                  "plain",
                                                  "quote \" backslash \\ slash /",
                                                  "tab\tnew\nline\r\x01\x1f",
                                                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                                  "\x7f del",
                                                  "{\"looks\":[\"like json\"]}"};
  switch (pick(rng)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<std::int64_t>(rng()) - static_cast<std::int64_t>(rng()) * 4096;
    case 3:
      return std::uint64_t{18446744073709551615ull} - rng() % 3;
    case 4:
      return json::string(kTexts[rng() % kTexts.size()]);
    case 5:
    case 6: {
      json::object object;
      const int members = static_cast<int>(rng() % 5);
      for (int i = 0; i < members; ++i) {
        object[kTexts[rng() % kTexts.size()] + std::to_string(i)] = random_value(rng, depth + 1);
      }
      return object;
    }
    default: {
      json::array array;
      const int elements = static_cast<int>(rng() % 5);
      for (int i = 0; i < elements; ++i)
        array.push_back(random_value(rng, depth + 1));
      return array;
    }
  }
}

// `compact` with a space, newline or tab after every ',', ':', '[' and '{'
// outside strings.
std::string spaced(const std::string& compact, std::mt19937& rng) {
  static const char kSpace[] = " \n\t\r";
  std::string out;
  bool in_string = false;
  for (std::size_t i = 0; i < compact.size(); ++i) {
    const char c = compact[i];
    out += c;
    if (in_string) {
      if (c == '\\') {
        out += compact[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == ',' || c == ':' || c == '[' || c == '{') out += kSpace[rng() % 4];
  }
  return out;
}

}  // namespace

TEST_CASE("one event object reads the same as the tree reads it", "[event][scan]") {
  const std::vector<std::string> payloads = {
      R"({})",
      R"({"a":[]})",
      R"({"a":{},"b":[[],{}],"c":[1,[2,[3]]]})",
      R"({"s":"\u0041\u00e9\ud83d\ude00\/\b\f\n\r\t\u0001\u001f\"\\"})",
      R"({"k\"ey":1,"k\\ey":2,"\u00e9":3})",
      R"({"n":[0,-0,-1,9223372036854775807,-9223372036854775808,18446744073709551615]})",
      R"({"d":[1.5,0.5,-2.25,1e2,1E300,1.0,-0.0,100]})",
      R"({"t":true,"f":false,"z":null})",
      R"({"nested":{"a":{"b":{"c":{"d":["e",{"f":"g"}]}}}}})",
      R"({"same":{"x":1},"other":{"x":2},"x":3})",
  };
  for (const std::string& payload : payloads) {
    same_either_way(event_with_payload(payload));
    // The payload as the serializer writes it.
    auto events = parse_events(event_with_payload(payload), fixed());
    REQUIRE(events.ok());
    CHECK(events->front().payload_json == json::serialize(json::parse(payload)));
  }
}

TEST_CASE("members may come in any order, repeat, or be escaped", "[event][scan]") {
  same_either_way(
      R"({"payload":{"a":1},"timestamp":"2026-11-24T10:15:02Z","id":"x","type":"t.u"})");
  // The last of a repeated member counts, as in the tree.
  same_either_way(R"({"type":"first","type":"second","payload":{"a":1},"payload":{"b":[2]}})",
                  false);
  same_either_way(R"({"type":5,"type":"t","payload":"no","payload":{"b":2}})", false);
  same_either_way(R"({"id":"one","id":null,"type":"t","payload":{}})", false);
  // Escapes in member names are read as the names they spell.
  same_either_way(R"({"ty\u0070e":"t","pay\u006coad":{"a":1},"\u0069d":"e1"})");
  // Other members are skipped, whatever they hold.
  same_either_way(R"({"type":"t","payload":{},"extra":{"payload":{"type":1}},"more":[{"id":2}]})",
                  false);
  // A bare Hoop payload is not an event object: the tree reads it.
  auto bare = parse_events(R"({"event_type":"session.open","id":"s1","x":[1]})", fixed());
  REQUIRE(bare.ok());
  CHECK(bare->front().type == "session.open");
  CHECK(bare->front().payload_json == R"({"event_type":"session.open","id":"s1","x":[1]})");
}

TEST_CASE("payloads the one pass leaves to the tree still read the same", "[event][scan]") {
  // A repeated key inside the payload (the tree keeps the last value where
  // the first stood), very many keys, deep nesting.
  same_either_way(event_with_payload(R"({"a":1,"b":2,"a":3})"));
  same_either_way(event_with_payload(R"({"o":{"k":[1],"k":{"z":0}}})"));
  std::string many = "{";
  for (int i = 0; i < 300; ++i)
    many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  many += "}";
  same_either_way(event_with_payload(many));
  std::string deep;
  for (int i = 0; i < 60; ++i)
    deep += "[";
  for (int i = 0; i < 60; ++i)
    deep += "]";
  same_either_way(event_with_payload("{\"deep\":" + deep + "}"));
}

TEST_CASE("random payloads read the same both ways", "[event][scan]") {
  std::mt19937 rng(20261201);
  for (int round = 0; round < 400; ++round) {
    json::object payload;
    const int members = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < members; ++i)
      payload["m" + std::to_string(i)] = random_value(rng, 0);
    const std::string compact = json::serialize(payload);
    const std::string body = spaced(event_with_payload(compact), rng);
    same_either_way(body);
    auto events = parse_events(body, fixed());
    REQUIRE(events.ok());
    CHECK(events->front().payload_json == compact);
  }
}

TEST_CASE("errors of one event object are the tree's errors", "[event][scan]") {
  // Numbers beyond double range and integers beyond 64 bits in the payload,
  // beyond the depth limit, and invalid JSON after a valid start.
  auto infinite = parse_events(event_with_payload(R"({"x":[1e999]})"), fixed());
  REQUIRE_FALSE(infinite.ok());
  CHECK(infinite.error().message == "payload: number out of range");
  auto wide = parse_events(event_with_payload(R"({"x":123456789012345678901234567890})"), fixed());
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().message.rfind("payload: integer beyond 64 bits", 0) == 0);
  auto big_double = parse_events(event_with_payload(R"({"x":1e20})"), fixed());
  CHECK(big_double.ok());
  auto deep = parse_events(event_with_payload("{\"d\":[[[[[[[[[[]]]]]]]]]]}"), fixed(8));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().message.rfind("body: nested deeper than 8 levels", 0) == 0);
  auto broken = parse_events(R"({"type":"t","payload":{"a":1}} x)", fixed());
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message.rfind("body: invalid JSON at offset", 0) == 0);
  auto scalar = parse_events(R"("{\"type\":\"t\"}")", fixed());
  REQUIRE_FALSE(scalar.ok());
  CHECK(scalar.error().message ==
        "body: must be a JSON object or an array of objects, got a string");
}
