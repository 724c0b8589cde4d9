// scan_message reads the common MessageIn bodies in one pass; whatever it
// takes must read exactly as the tree and read_message read it, and what it
// leaves (errors above all) goes to them unchanged.
#include "hookd/api/message_scan.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/api/route_support.h"

namespace json = boost::json;
using namespace hookd::api;

namespace {

// The tree's reading, as the create route does it: nullopt for a body that
// is not JSON or that read_message refuses.
std::optional<MessageInput> tree_read(const std::string& body) {
  json::parse_options options;
  options.max_depth = kMaxBodyDepth;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) return std::nullopt;
  ValidationItems errors;
  auto read = read_message(value, Limits{}, errors);
  if (!errors.empty()) return std::nullopt;
  return read;
}

// Scans `body`; when taken, the tree must give the same fields.
bool taken_and_same(const std::string& body) {
  INFO(body);
  MessageInput scanned;
  if (!scan_message(body, scanned)) return false;
  auto tree = tree_read(body);
  REQUIRE(tree.has_value());
  CHECK(scanned.event_type == tree->event_type);
  CHECK(scanned.event_id == tree->event_id);
  CHECK(scanned.payload_json == tree->payload_json);
  CHECK(scanned.channels == tree->channels);
  CHECK_FALSE(tree->application.has_value());
  return true;
}

}  // namespace

TEST_CASE("message bodies the one pass takes read as the tree reads them", "[api][scan]") {
  const std::vector<std::string> bodies = {
      R"({"eventType":"session.open","payload":{"a":1}})",
      R"({"payload":{"a":1},"eventType":"session.open","eventId":"evt-1_x.y"})",
      R"({"eventType":"t","eventId":null,"payload":{},"channels":null})",
      R"({"eventType":"t","payload":{},"channels":["a","b","a","c-d_e.f"]})",
      R"({"eventType":"t","payload":{},"channels":["o\u006ee"]})",
      // Escapes: in names, in the event type, in the payload's keys and strings.
      R"({"event\u0054ype":"session.\u006fpen","pay\u006coad":{"k\"ey":"\u00e9\ud83d\ude00\/\b\n\u0001"}})",
      R"({ "eventType" : "t" ,
           "payload" : { "n" : [ 0, -1, 18446744073709551615, 1.5, 1E300, true, null ] } })",
      // Unknown members are skipped, whatever they hold.
      R"({"eventType":"t","payload":{},"tags":["x"],"extra":{"payload":1,"eventType":2}})",
      // A repeated member counts once: the last one.
      R"({"eventType":"first","eventType":"second","payload":{"a":1},"payload":{"b":[2]}})",
      R"({"eventType":7,"eventType":"t","payload":"no","payload":{}})",
      R"({"eventType":"t","channels":[1],"channels":["ok"],"payload":{}})",
  };
  for (const std::string& body : bodies)
    CHECK(taken_and_same(body));

  std::string deep = R"({"eventType":"t","payload":{"d":)";
  for (int i = 0; i < 60; ++i)
    deep += "[";
  for (int i = 0; i < 60; ++i)
    deep += "]";
  CHECK(taken_and_same(deep + "}}"));
}

TEST_CASE("message bodies the one pass leaves to the tree", "[api][scan]") {
  const std::vector<std::string> bodies = {
      // Not an object, not JSON, empty.
      "",
      "null",
      R"([{"eventType":"t","payload":{}}])",
      R"({"eventType":"t","payload":{})",
      R"({"eventType":"t","payload":{}} x)",
      // Wrong types and values read_message refuses: its 422 stays its own.
      R"({"payload":{}})",
      R"({"eventType":5,"payload":{}})",
      R"({"eventType":"not a name","payload":{}})",
      R"({"eventType":"t","eventId":7,"payload":{}})",
      R"({"eventType":"t","eventId":"msg_1","payload":{}})",
      R"({"eventType":"t","eventId":"","payload":{}})",
      R"({"eventType":"t"})",
      R"({"eventType":"t","payload":null})",
      R"({"eventType":"t","payload":[1]})",
      R"({"eventType":"t","payload":{"x":[1e999]}})",
      R"({"eventType":"t","payload":{},"channels":"a"})",
      R"({"eventType":"t","payload":{},"channels":["a",1]})",
      R"({"eventType":"t","payload":{},"channels":[]})",
      R"({"eventType":"t","payload":{},"channels":["a","b","c","d","e","f"]})",
      R"({"eventType":"t","payload":{},"channels":["no spaces"]})",
      // Members only the tree reads.
      R"({"eventType":"t","data":{"a":1}})",
      R"({"eventType":"t","payload":{},"application":{"name":"a","uid":"u"}})",
      R"({"eventType":"t","payload":{},"application":null})",
      R"({"eventType":"t","payload":{},"payloadRetentionPeriod":30})",
      // A payload with a repeated key (the tree keeps the last value).
      R"({"eventType":"t","payload":{"a":1,"a":2}})",
  };
  for (const std::string& body : bodies) {
    INFO(body);
    MessageInput scanned;
    CHECK_FALSE(scan_message(body, scanned));
  }
  // Nesting beyond the body limit is the tree's 400.
  std::string deep = R"({"eventType":"t","payload":{"d":)";
  for (int i = 0; i < 70; ++i)
    deep += "[";
  for (int i = 0; i < 70; ++i)
    deep += "]";
  MessageInput scanned;
  CHECK_FALSE(scan_message(deep + "}}", scanned));
  CHECK_FALSE(tree_read(deep + "}}").has_value());
}
