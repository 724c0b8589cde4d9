#include "hookd/core/event.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "support/support.h"

namespace json = boost::json;
using hookd::Event;
using hookd::parse_events;
using hookd::ParseOptions;

namespace {

constexpr std::int64_t kNow = 1795515302123;  // 2026-11-24T10:15:02.123Z

ParseOptions at_now() {
  ParseOptions options;
  options.now_unix_ms = kNow;
  return options;
}

std::string error_of(std::string_view body, const ParseOptions& options = at_now()) {
  auto result = parse_events(body, options);
  if (result.ok()) return "<accepted>";
  return result.error().message;
}

bool looks_generated(const std::string& id) {
  if (id.size() != 30 || id.rfind("evt_", 0) != 0) return false;
  return std::all_of(id.begin() + 4, id.end(), [](char c) {
    return std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c) != std::string_view::npos;
  });
}

}  // namespace

TEST_CASE("fixture events parse with their own id, type, timestamp and payload", "[event]") {
  for (const char* name : {"session-open.event.json", "session-close.event.json"}) {
    CAPTURE(name);
    std::string body = hookd::test::fixture(name);
    json::object expected = json::parse(body).as_object();

    auto result = parse_events(body, at_now());
    REQUIRE(result.ok());
    REQUIRE(result->size() == 1);
    const Event& event = result->front();
    CHECK(event.id == json::value_to<std::string>(expected.at("id")));
    CHECK(event.type == json::value_to<std::string>(expected.at("type")));
    CHECK(event.timestamp == json::value_to<std::string>(expected.at("timestamp")));
    CHECK(event.arrival_unix_ms == kNow);
    CHECK(json::parse(event.payload_json) == expected.at("payload"));
    // Compact: the serializer adds no whitespace between tokens.
    CHECK(event.payload_json.find(": ") == std::string::npos);
    CHECK(event.payload_json.find("\n ") == std::string::npos);
  }
}

TEST_CASE("to_json and from_json round-trip", "[event]") {
  for (const char* name : {"session-open.event.json", "session-close.event.json"}) {
    CAPTURE(name);
    auto parsed = parse_events(hookd::test::fixture(name), at_now());
    REQUIRE(parsed.ok());
    const Event& event = parsed->front();

    std::string text = hookd::to_json(event);
    json::object object = json::parse(text).as_object();
    CHECK(object.size() == 4);
    CHECK(object.at("id") == event.id.c_str());
    CHECK(object.at("type") == event.type.c_str());
    CHECK(object.at("timestamp") == event.timestamp.c_str());
    CHECK(object.at("payload") == json::parse(event.payload_json));

    auto back = hookd::from_json(text);
    REQUIRE(back.ok());
    CHECK(back->id == event.id);
    CHECK(back->type == event.type);
    CHECK(back->timestamp == event.timestamp);
    CHECK(back->payload_json == event.payload_json);
    CHECK(back->arrival_unix_ms == 0);
    CHECK(hookd::to_json(*back) == text);
  }
}

TEST_CASE("to_json escapes hand-built fields", "[event]") {
  Event event;
  event.id = "a\"b\\c\n";
  event.type = "x.y";
  event.timestamp = "t";
  json::object object = json::parse(hookd::to_json(event)).as_object();
  CHECK(object.at("id") == "a\"b\\c\n");
  CHECK(object.at("payload") == json::object());
}

TEST_CASE("from_json rejects what the journal never writes", "[event]") {
  CHECK(hookd::from_json("{\"type\":\"a.b\",\"timestamp\":\"2026-11-24T10:15:02Z\","
                         "\"payload\":{}}")
            .error()
            .message == "id: missing");
  CHECK(hookd::from_json("{\"id\":\"x\",\"type\":\"a.b\",\"payload\":{}}").error().message ==
        "timestamp: missing");
  CHECK(hookd::from_json("[]").error().message.find("must be a JSON object") != std::string::npos);
  CHECK(hookd::from_json("{\"id\":").error().message.find("invalid JSON") != std::string::npos);
}

TEST_CASE("an array body becomes events with distinct, sorted generated ids", "[event]") {
  auto result = parse_events(hookd::test::fixture("events-batch.json"), at_now());
  REQUIRE(result.ok());
  const auto& events = *result;
  REQUIRE(events.size() == 4);
  CHECK(events[0].type == "session.open");
  CHECK(events[1].type == "session.close");
  CHECK(events[2].type == "dbroles.job.finished");
  CHECK(events[3].type == "microsoftteams.review.create");

  std::set<std::string> ids;
  for (std::size_t i = 0; i < events.size(); ++i) {
    CAPTURE(i, events[i].id);
    CHECK(looks_generated(events[i].id));
    CHECK(hookd::valid_event_id(events[i].id));
    CHECK(events[i].timestamp == "2026-11-24T10:15:02.123Z");
    CHECK(events[i].arrival_unix_ms == kNow);
    if (i > 0) CHECK(events[i - 1].id < events[i].id);
    ids.insert(events[i].id);
  }
  CHECK(ids.size() == 4);

  json::array batch = json::parse(hookd::test::fixture("events-batch.json")).as_array();
  for (std::size_t i = 0; i < events.size(); ++i) {
    CHECK(json::parse(events[i].payload_json) == batch[i].as_object().at("payload"));
  }
}

TEST_CASE("a single event without id takes the default id, an array never does", "[event]") {
  ParseOptions options = at_now();
  options.default_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";

  auto single = parse_events("{\"type\":\"session.open\",\"payload\":{}}", options);
  REQUIRE(single.ok());
  CHECK(single->front().id == "msg_p5jXN8AQM9LWM0D4loKWxJek");

  auto own = parse_events("{\"type\":\"session.open\",\"id\":\"mine\",\"payload\":{}}", options);
  REQUIRE(own.ok());
  CHECK(own->front().id == "mine");

  auto array = parse_events("[{\"type\":\"session.open\",\"payload\":{}}]", options);
  REQUIRE(array.ok());
  CHECK(looks_generated(array->front().id));

  auto without = parse_events("{\"type\":\"session.open\",\"payload\":{}}", at_now());
  REQUIRE(without.ok());
  CHECK(looks_generated(without->front().id));

  options.default_id = "bad id";
  CHECK(error_of("{\"type\":\"session.open\",\"payload\":{}}", options)
            .rfind("webhook-id: invalid characters", 0) == 0);
}

TEST_CASE("optional fields: null is absent, timestamps keep the caller's text", "[event]") {
  auto result = parse_events(
      "{\"type\":\"a.b\",\"id\":null,\"timestamp\":null,\"payload\":{},\"extra\":[1,2]}", at_now());
  REQUIRE(result.ok());
  CHECK(looks_generated(result->front().id));
  CHECK(result->front().timestamp == "2026-11-24T10:15:02.123Z");

  for (const char* ts : {"2026-11-24T10:15:02Z", "2026-11-24T12:15:02.5+02:00",
                         "2026-11-24t05:15:02.123456789-05:00", "2026-11-24T10:15:02.000z"}) {
    CAPTURE(ts);
    auto r = parse_events(
        std::string("{\"type\":\"a.b\",\"timestamp\":\"") + ts + "\",\"payload\":{}}", at_now());
    REQUIRE(r.ok());
    CHECK(r->front().timestamp == ts);
  }
}

TEST_CASE("every invalid body is refused with a reason naming the field", "[event]") {
  const std::string long_id(129, 'a');
  const std::string long_type(129, 'a');
  struct Case {
    std::string body;
    std::string expected;  // prefix of the error message
  };
  const std::vector<Case> cases = {
      // The body as a whole.
      {"", "body: empty"},
      {"  \n", "body: empty"},
      {"{", "body: invalid JSON at offset 1"},
      {"{\"type\":\"a.b\",\"payload\":{},}", "body: invalid JSON at offset 27 (syntax error)"},
      {"{\"type\":\"a.b\",\"payload\":{}} x", "body: invalid JSON at offset 28 (extra data)"},
      {"{'type':'a.b'}", "body: invalid JSON at offset 1"},
      {"{\"type\":\"a.b\",\"payload\":{\"s\":\"\xff\"}}", "body: invalid JSON"},
      {"{\"type\":\"a.b\",\"payload\":{\"s\":\"\xc3\"}}", "body: invalid JSON"},
      {"{\"type\":\"a.b\",\"payload\":{\"s\":\"\\ud800\"}}", "body: invalid JSON"},
      {"{\"type\":\"a.b\",\"payload\":{/*c*/}}", "body: invalid JSON"},
      {"\"session.open\"", "body: must be a JSON object or an array of objects, got a string"},
      {"42", "body: must be a JSON object or an array of objects, got a number"},
      {"null", "body: must be a JSON object or an array of objects, got null"},
      {"true", "body: must be a JSON object or an array of objects, got a boolean"},
      {"[]", "body: empty array"},
      {"[1]", "events[0]: must be an object, got a number"},
      {"[{\"type\":\"a.b\",\"payload\":{}},[]]", "events[1]: must be an object, got an array"},
      // type
      {"{\"payload\":{}}", "type: missing"},
      {"{\"type\":5,\"payload\":{}}", "type: must be a string, got a number"},
      {"{\"type\":null,\"payload\":{}}", "type: must be a string, got null"},
      {"{\"type\":[\"a\"],\"payload\":{}}", "type: must be a string, got an array"},
      {"{\"type\":\"\",\"payload\":{}}", "type: empty"},
      {"{\"type\":\"session..open\",\"payload\":{}}", "type: empty segment at position 8"},
      {"{\"type\":\".open\",\"payload\":{}}", "type: empty segment at position 0"},
      {"{\"type\":\"session.\",\"payload\":{}}", "type: must not end with a dot"},
      {"{\"type\":\"session open\",\"payload\":{}}", "type: invalid characters (position 7"},
      {"{\"type\":\"../../etc/passwd\",\"payload\":{}}", "type: empty segment at position 0"},
      {"{\"type\":\"a/b\",\"payload\":{}}", "type: invalid characters (position 1"},
      {"{\"type\":\"caf\xc3\xa9\",\"payload\":{}}", "type: invalid characters (position 3"},
      {"{\"type\":\"" + long_type + "\",\"payload\":{}}", "type: longer than 128 characters"},
      // id
      {"{\"type\":\"a.b\",\"id\":5,\"payload\":{}}", "id: must be a string, got a number"},
      {"{\"type\":\"a.b\",\"id\":{},\"payload\":{}}", "id: must be a string, got an object"},
      {"{\"type\":\"a.b\",\"id\":true,\"payload\":{}}", "id: must be a string, got a boolean"},
      {"{\"type\":\"a.b\",\"id\":\"\",\"payload\":{}}", "id: empty"},
      {"{\"type\":\"a.b\",\"id\":\"a b\",\"payload\":{}}", "id: invalid characters (position 1"},
      {"{\"type\":\"a.b\",\"id\":\"a/b\",\"payload\":{}}", "id: invalid characters (position 1"},
      {"{\"type\":\"a.b\",\"id\":\"\\u0000\",\"payload\":{}}",
       "id: invalid characters (position 0"},
      {"{\"type\":\"a.b\",\"id\":\"" + long_id + "\",\"payload\":{}}",
       "id: longer than 128 characters"},
      // timestamp
      {"{\"type\":\"a.b\",\"timestamp\":1795515302,\"payload\":{}}",
       "timestamp: must be a string (RFC 3339), got a number"},
      {"{\"type\":\"a.b\",\"timestamp\":\"yesterday\",\"payload\":{}}",
       "timestamp: not an RFC 3339 date-time"},
      {"{\"type\":\"a.b\",\"timestamp\":\"2026-02-30T10:15:02Z\",\"payload\":{}}",
       "timestamp: not an RFC 3339 date-time"},
      {"{\"type\":\"a.b\",\"timestamp\":\"2026-11-24T10:15:02\",\"payload\":{}}",
       "timestamp: not an RFC 3339 date-time"},
      {"{\"type\":\"a.b\",\"timestamp\":\"2026-11-24 10:15:02Z\",\"payload\":{}}",
       "timestamp: not an RFC 3339 date-time"},
      // payload
      {"{\"type\":\"a.b\"}", "payload: missing"},
      {"{\"type\":\"a.b\",\"payload\":null}", "payload: must be an object, got null"},
      {"{\"type\":\"a.b\",\"payload\":[]}", "payload: must be an object, got an array"},
      {"{\"type\":\"a.b\",\"payload\":\"{}\"}", "payload: must be an object, got a string"},
      {"{\"type\":\"a.b\",\"payload\":{\"n\":1e400}}", "payload: number out of range"},
      {"{\"type\":\"a.b\",\"payload\":{\"n\":[-1e999]}}", "payload: number out of range"},
      // arrays name the index
      {"[{\"type\":\"a.b\",\"payload\":{}},{\"payload\":{}}]", "events[1].type: missing"},
      {"[{\"type\":\"a.b\",\"payload\":{}},{\"type\":\"a.b\",\"payload\":{}},"
       "{\"type\":\"a.b\",\"id\":\"x y\",\"payload\":{}}]",
       "events[2].id: invalid characters"},
      {"[{\"type\":\"a.b\",\"payload\":{}},{\"type\":\"a.b\",\"payload\":7}]",
       "events[1].payload: must be an object, got a number"},
      {"[{\"type\":\"a.b\",\"id\":\"x\",\"payload\":{}},{\"type\":\"a.b\",\"id\":\"y\",\"payload\":"
       "{}"
       "},{\"type\":\"a.b\",\"id\":\"x\",\"payload\":{}}]",
       "events[2].id: duplicate of events[0].id \"x\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    std::string error = error_of(c.body);
    CAPTURE(error);
    CHECK(error.rfind(c.expected, 0) == 0);
  }
}

TEST_CASE("duplicate ids are found in large arrays too", "[event]") {
  std::string body = "[";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) body += ',';
    int id = i == 77 ? 12 : i;
    body += "{\"type\":\"a.b\",\"id\":\"id-" + std::to_string(id) + "\",\"payload\":{}}";
  }
  body += "]";
  CHECK(error_of(body) == "events[77].id: duplicate of events[12].id \"id-12\"");
  // Events without an id never collide with each other.
  CHECK(parse_events("[{\"type\":\"a.b\",\"payload\":{}},{\"type\":\"a.b\",\"payload\":{}}]").ok());
}

TEST_CASE("too many events in one request", "[event]") {
  ParseOptions options = at_now();
  options.max_events = 3;
  std::string four = hookd::test::fixture("events-batch.json");
  CHECK(error_of(four, options) == "body: 4 events, at most 3 per request");
  options.max_events = 4;
  CHECK(parse_events(four, options).ok());
}

TEST_CASE("nesting is bounded", "[event]") {
  auto nested = [](std::size_t depth) {
    return "{\"type\":\"a.b\",\"payload\":{\"x\":" + std::string(depth, '[') +
           std::string(depth, ']') + "}}";
  };
  // Body object + payload object + 62 arrays = 64 levels: the default limit.
  CHECK(parse_events(nested(62), at_now()).ok());
  CHECK(error_of(nested(63)).rfind("body: nested deeper than 64 levels at offset", 0) == 0);
  // Far deeper input is refused just as quickly, without recursion.
  CHECK(error_of(std::string(1000000, '[')).rfind("body: nested deeper than 64", 0) == 0);

  ParseOptions options = at_now();
  options.max_depth = 3;
  CHECK(parse_events(nested(1), options).ok());
  CHECK(error_of(nested(2), options).rfind("body: nested deeper than 3 levels", 0) == 0);
}

TEST_CASE("large numbers and unicode survive into the payload", "[event]") {
  auto result = parse_events(
      "{\"type\":\"a.b\",\"payload\":{\"big\":18446744073709551615,\"neg\":-9223372036854775808,"
      "\"huge\":1.2345678901234568e29,\"s\":\"caf\\u00e9 \xe2\x9c\x93\",\"f\":1.5}}");
  REQUIRE(result.ok());
  json::object payload = json::parse(result->front().payload_json).as_object();
  CHECK(payload.at("big").as_uint64() == 18446744073709551615ULL);
  CHECK(payload.at("neg").as_int64() == INT64_MIN);
  CHECK(payload.at("huge").is_double());
  CHECK(payload.at("s") == "caf\xc3\xa9 \xe2\x9c\x93");
  CHECK(payload.at("f").as_double() == 1.5);
}

TEST_CASE("mangled bodies never crash the parser", "[event]") {
  std::string base = hookd::test::fixture("events-batch.json");
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[at] = static_cast<char>(rng() % 256);
          break;
        case 1:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.resize(at);
          break;
      }
      if (body.empty()) break;
    }
    auto result = parse_events(body, at_now());
    if (result.ok()) {
      ++accepted;
      for (const auto& event : *result) {
        CHECK(hookd::valid_event_id(event.id));
        CHECK(hookd::valid_event_type(event.type));
        CHECK(json::parse(event.payload_json).is_object());
      }
    } else {
      CHECK(!result.error().message.empty());
    }
  }
  // Some single-byte edits land inside strings and stay valid.
  CHECK(accepted > 0);
}

TEST_CASE("event ids and types", "[event]") {
  CHECK(hookd::valid_event_id("evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A"));
  CHECK(hookd::valid_event_id("msg_p5jXN8AQM9LWM0D4loKWxJek"));
  CHECK(hookd::valid_event_id("urn:a.b-c_d"));
  CHECK(hookd::valid_event_id(std::string(128, 'x')));
  CHECK_FALSE(hookd::valid_event_id(std::string(129, 'x')));
  CHECK_FALSE(hookd::valid_event_id(""));
  CHECK_FALSE(hookd::valid_event_id("a b"));
  CHECK_FALSE(hookd::valid_event_id("a/b"));
  CHECK_FALSE(hookd::valid_event_id("a\"b"));
  CHECK_FALSE(hookd::valid_event_id("."));
  CHECK_FALSE(hookd::valid_event_id(".."));
  CHECK(hookd::valid_event_id("..a"));

  CHECK(hookd::valid_event_type("session.open"));
  CHECK(hookd::valid_event_type("microsoftteams.review.create"));
  CHECK(hookd::valid_event_type("ping"));
  CHECK(hookd::valid_event_type("a_b.c-d.E9"));
  CHECK_FALSE(hookd::valid_event_type(""));
  CHECK_FALSE(hookd::valid_event_type("."));
  CHECK_FALSE(hookd::valid_event_type("a..b"));
  CHECK_FALSE(hookd::valid_event_type("a:b"));
  CHECK_FALSE(hookd::valid_event_type(std::string(129, 'a')));
}

TEST_CASE("hook script names", "[event]") {
  CHECK(hookd::hook_script_name("session.open") == "session-open.runbook.py");
  CHECK(hookd::hook_script_name("session.close") == "session-close.runbook.py");
  CHECK(hookd::hook_script_name("dbroles.job.finished") == "dbroles-job-finished.runbook.py");
  CHECK(hookd::hook_script_name("microsoftteams.review.create") ==
        "microsoftteams-review-create.runbook.py");
  CHECK(hookd::hook_script_name("ping") == "ping.runbook.py");
  CHECK(hookd::hook_script_name("a-b.c") == "a-b-c.runbook.py");
}

TEST_CASE("RFC 3339 formatting and parsing", "[event]") {
  CHECK(hookd::format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
  CHECK(hookd::format_rfc3339(kNow) == "2026-11-24T10:15:02.123Z");
  CHECK(hookd::format_rfc3339(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(hookd::format_rfc3339(1709251199000) == "2024-02-29T23:59:59.000Z");

  CHECK(hookd::parse_rfc3339("2026-11-24T10:15:02.123Z") == kNow);
  CHECK(hookd::parse_rfc3339("2026-11-24T10:15:02Z") == kNow - 123);
  CHECK(hookd::parse_rfc3339("2026-11-24T12:15:02.123+02:00") == kNow);
  CHECK(hookd::parse_rfc3339("2026-11-24T04:45:02.123-05:30") == kNow);
  CHECK(hookd::parse_rfc3339("2026-11-24t10:15:02.1239z") == kNow);
  CHECK(hookd::parse_rfc3339("2026-11-24T10:15:02.1Z") == kNow - 23);
  CHECK(hookd::parse_rfc3339("2024-02-29T23:59:59Z") == 1709251199000);
  CHECK(hookd::parse_rfc3339("2016-12-31T23:59:60Z") ==
        hookd::parse_rfc3339("2017-01-01T00:00:00Z"));

  for (const char* bad :
       {"", "2026-11-24", "2026-11-24T10:15:02", "2026-11-24T10:15:02+0200", "2026-11-24T10:15Z",
        "2023-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T10:60:00Z", "2026-11-24T10:15:61Z",
        "2026-11-24T10:15:02.Z", "2026-11-24T10:15:02.1234567890Z", "2026-11-24T10:15:02Z ",
        " 2026-11-24T10:15:02Z", "2026-11-24T10:15:02+24:00", "+2026-11-24T10:15:02Z",
        "2026-11-24X10:15:02Z", "2026-11-24T10:15:02+02:00Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(hookd::parse_rfc3339(bad).has_value());
  }

  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    auto ms = static_cast<std::int64_t>(rng() % 253402300800000ULL);
    CAPTURE(ms);
    CHECK(hookd::parse_rfc3339(hookd::format_rfc3339(ms)) == ms);
  }
}

TEST_CASE("generated ids are unique and sort by creation", "[event]") {
  std::string previous;
  for (int i = 0; i < 2000; ++i) {
    std::string id = hookd::new_event_id();
    REQUIRE(looks_generated(id));
    REQUIRE(previous < id);
    previous = id;
  }

  // The first ten characters encode the creation millisecond.
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::int64_t before = hookd::now_unix_ms();
  std::string id = hookd::new_event_id();
  std::int64_t after = hookd::now_unix_ms();
  std::int64_t ms = 0;
  for (int i = 0; i < 10; ++i)
    ms = ms * 32 + static_cast<std::int64_t>(kAlphabet.find(id[4 + i]));
  // A same-millisecond overflow can push one id a millisecond ahead.
  CHECK(ms >= before);
  CHECK(ms <= after + 1);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i)
        made[t].push_back(hookd::new_event_id());
    });
  }
  for (auto& thread : threads)
    thread.join();
  std::set<std::string> all;
  for (const auto& ids : made) {
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    all.insert(ids.begin(), ids.end());
  }
  CHECK(all.size() == kThreads * kPerThread);
}

TEST_CASE("integers beyond 64 bits are refused rather than rounded", "[event]") {
  auto wide = hookd::parse_events(R"({"type":"a.b","payload":{"n":18446744073709551616}})");
  REQUIRE_FALSE(wide.ok());
  CHECK(wide.error().message.find("payload: integer beyond 64 bits") == 0);
  auto in_array = hookd::parse_events(
      R"([{"type":"a.b","payload":{}},{"type":"a.b","payload":{"n":[-9223372036854775809]}}])");
  REQUIRE_FALSE(in_array.ok());
  CHECK(in_array.error().message.find("events[1].payload") == 0);
  // The extremes that fit, a genuine large double, and digits in strings stay.
  CHECK(hookd::parse_events(R"({"type":"a.b","payload":{"n":18446744073709551615}})").ok());
  CHECK(hookd::parse_events(R"({"type":"a.b","payload":{"n":-9223372036854775808}})").ok());
  CHECK(hookd::parse_events(R"({"type":"a.b","payload":{"n":1e20,"m":1.0e30}})").ok());
  CHECK(hookd::parse_events(
            R"({"type":"a.b","payload":{"n":1e20,"s":"123456789012345678901234567890"}})")
            .ok());
}

TEST_CASE(
    "a bare Hoop webhook payload is one event of its event_type, the whole object its payload") {
  const std::string body =
      R"({"event_type":"session.close","id":"8bfc995b","exit_code":1,"exit_err":null})";
  ParseOptions options;
  options.default_id = "msg_from_svix_id";
  auto parsed = parse_events(body, options);
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 1);
  const Event& event = parsed->front();
  CHECK(event.type == "session.close");
  CHECK(event.id == "msg_from_svix_id");  // the session id stays in the payload
  CHECK(boost::json::parse(event.payload_json) == boost::json::parse(body));
  CHECK_FALSE(event.timestamp.empty());

  SECTION("without an id header it gets a new id") {
    auto fresh = parse_events(body);
    REQUIRE(fresh);
    CHECK(fresh->front().id != "8bfc995b");
    CHECK(hookd::valid_event_id(fresh->front().id));
  }
  SECTION("a type of its own makes it a plain event, event_type just a payload field") {
    auto plain = parse_events(R"({"type":"a.b","event_type":"session.open","payload":{}})");
    REQUIRE(plain);
    CHECK(plain->front().type == "a.b");
  }
  SECTION("what is refused") {
    auto bad_type = parse_events(R"({"event_type":"not a type"})");
    REQUIRE_FALSE(bad_type);
    CHECK(bad_type.error().message.find("event_type") != std::string::npos);
    CHECK_FALSE(parse_events(R"({"event_type":"a.b","n":1e999})"));
    // Not a string: not a Hoop payload, so the usual error.
    auto numeric = parse_events(R"({"event_type":7})");
    REQUIRE_FALSE(numeric);
    CHECK(numeric.error().message.find("type: missing") != std::string::npos);
    // Arrays stay arrays of events.
    CHECK_FALSE(parse_events(R"([{"event_type":"a.b"}])"));
  }
}
