// scan_object's two readers: the byte scan must take the common bodies, and
// whatever it takes the basic_parser scan must take and read the same, down
// to the payload's bytes; what it declines, the parser scan (and after it
// the tree) decides as before. Inputs: edge cases of RFC 8259 and UTF-8,
// the fixtures, the fuzz seed corpora, and random mutations of them all.
#include <array>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/core/object_scan.h"
#include "support/support.h"

namespace json = boost::json;
using hookd::ObjectScan;
using hookd::ScannedMember;
using hookd::ScannedObject;

namespace {

// The event reader's names (core/event_scan) and the message reader's
// (api/message_scan): the two callers.
constexpr std::array<std::string_view, 5> kEventNames = {"type", "id", "timestamp", "payload",
                                                         "event_type"};
constexpr std::array<std::string_view, 7> kMessageNames = {
    "eventType", "eventId", "payload", "channels", "data", "application", "payloadRetentionPeriod"};

std::vector<ObjectScan> scans() {
  return {ObjectScan{kEventNames, 3, 64}, ObjectScan{kMessageNames, 2, 64},
          ObjectScan{kEventNames, 3, 5}};
}

bool same_member(const ScannedMember& a, const ScannedMember& b) {
  if (a.present != b.present) return false;
  if (!a.present) return true;
  return a.kind == b.kind && a.text == b.text && a.strings == b.strings &&
         a.strings_only == b.strings_only;
}

// Whether the byte scan took `body`; when it did, the parser scan must have
// too, with the same reading, and Boost.JSON must parse the body.
bool bytes_take(const std::string& body, const ObjectScan& scan) {
  ScannedObject bytes;
  if (!hookd::scan_object_bytes(body, scan, bytes)) return false;
  INFO(body);
  ScannedObject parser;
  REQUIRE(hookd::scan_object_parser(body, scan, parser));
  for (std::size_t i = 0; i < scan.names.size(); ++i) {
    INFO(scan.names[i]);
    CHECK(same_member(bytes.members[i], parser.members[i]));
  }
  CHECK(bytes.payload_finite == parser.payload_finite);
  CHECK(bytes.payload_wide_integral == parser.payload_wide_integral);
  json::parse_options options;
  options.max_depth = scan.max_depth;
  json::error_code ec;
  json::parse(body, ec, {}, options);
  CHECK_FALSE(ec);
  return true;
}

// How many of the scans the byte scan took `body` for.
std::size_t check_all_scans(const std::string& body) {
  std::size_t taken = 0;
  for (const ObjectScan& scan : scans())
    taken += bytes_take(body, scan) ? 1 : 0;
  return taken;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> corpus() {
  std::vector<std::string> bodies = {hookd::test::fixture("session-open.event.json"),
                                     hookd::test::fixture("session-close.event.json")};
  const std::filesystem::path root = std::filesystem::path(HOOKD_SOURCE_DIR) / "fuzz" / "corpus";
  for (const char* target : {"event_parse", "svix_bodies", "hoop_payload"}) {
    if (!std::filesystem::is_directory(root / target)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(root / target))
      bodies.push_back(read_file(entry.path()));
  }
  return bodies;
}

// One random edit: a byte changed, inserted, removed or repeated, or a piece
// from the edge-case alphabet put in.
std::string mutate(std::string body, std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {"\"",
                                                   "\\",
                                                   "\\u0041",
                                                   "\\/",
                                                   "\\n",
                                                   "-0",
                                                   "01",
                                                   "1.5",
                                                   "1e2",
                                                   "-",
                                                   "{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   ",",
                                                   ":",
                                                   " ",
                                                   "\t",
                                                   "\x01",
                                                   "\x7f",
                                                   "\xc3\xa9",
                                                   "\xc0\x80",
                                                   "\xed\xa0\x80",
                                                   "\xf4\x90\x80\x80",
                                                   "\xe0\x80",
                                                   "\xff",
                                                   "true",
                                                   "nul",
                                                   "123456789012345678",
                                                   "1234567890123456789",
                                                   "\"payload\":",
                                                   "\"a\":1,",
                                                   "\"type\":\"t\",",
                                                   "\"channels\":[\"x\"],",
                                                   std::string("\0", 1)};
  if (body.empty()) return kPieces[rng() % kPieces.size()];
  const std::size_t at = rng() % body.size();
  switch (rng() % 5) {
    case 0:
      body[at] = static_cast<char>(rng());
      break;
    case 1:
      body.insert(at, kPieces[rng() % kPieces.size()]);
      break;
    case 2:
      body.erase(at, 1 + rng() % 3);
      break;
    case 3:
      body.insert(at, body.substr(at, 1 + rng() % 8));
      break;
    default:
      body.replace(at, 1, kPieces[rng() % kPieces.size()]);
  }
  return body;
}

}  // namespace

TEST_CASE("the byte scan takes the common bodies", "[scan]") {
  const ObjectScan event{kEventNames, 3, 64};
  CHECK(bytes_take(hookd::test::fixture("session-open.event.json"), event));
  CHECK(bytes_take(R"({"type":"t","payload":{}})", event));
  CHECK(bytes_take(
      R"( { "type" : "t" , "payload" : { "a" : [ 1 , -2 , true , null , "x\n\"" ] } } )", event));
  CHECK(bytes_take("{\"type\":\"t\",\"payload\":{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\x7f\"}}",
                   event));
  const ObjectScan message{kMessageNames, 2, 64};
  CHECK(bytes_take(R"({"eventType":"t","eventId":"e1","channels":["a","b"],"payload":{"a":1}})",
                   message));
}

TEST_CASE("the byte scan declines what it would have to rewrite or cannot judge", "[scan]") {
  const ObjectScan event{kEventNames, 3, 64};
  const std::vector<std::string> declined = {
      // Rewritten by the serializer: \u, \/, doubles, -0, a repeated payload key.
      R"({"type":"t","payload":{"s":"\u0041"}})",
      R"({"type":"t","payload":{"s":"\/"}})",
      R"({"type":"t","payload":{"d":1.5}})",
      R"({"type":"t","payload":{"d":1e2}})",
      R"({"type":"t","payload":{"z":-0}})",
      R"({"type":"t","payload":{"a":1,"a":2}})",
      R"({"type":"t","payload":{"a":{"k":1,"k":1}}})",
      // Wider than 18 digits, escapes in names or named strings.
      R"({"type":"t","payload":{"n":1234567890123456789}})",
      R"({"ty\u0070e":"t","payload":{}})",
      R"({"type":"t\n","payload":{}})",
      // Not an object, not JSON, trailing bytes.
      R"(["type"])",
      R"("x")",
      R"({"type":"t","payload":{}} x)",
      R"({"type":"t","payload":{},})",
      R"({"type":"t","payload":{"a":01}})",
      "{\"type\":\"t\",\"payload\":{\"s\":\"\x01\"}}",
      "{\"type\":\"t\",\"payload\":{\"s\":\"\xc0\x80\"}}",
      "{\"type\":\"t\",\"payload\":{\"s\":\"\xed\xa0\x80\"}}",
      "{\"type\":\"t\",\"payload\":{\"s\":\"\xf4\x90\x80\x80\"}}",
      "{\"type\":\"t\",\"payload\":{\"s\":\"\xe2\x82\"}}",
      "\xef\xbb\xbf{\"type\":\"t\",\"payload\":{}}",
      "",
      "{",
  };
  for (const std::string& body : declined) {
    INFO(body);
    ScannedObject out;
    CHECK_FALSE(hookd::scan_object_bytes(body, event, out));
  }
  // Nesting: taken within max_depth, declined at or beyond it.
  std::string deep = R"({"type":"t","payload":{"d":)";
  for (int i = 0; i < 3; ++i)
    deep += "[";
  for (int i = 0; i < 3; ++i)
    deep += "]";
  deep += "}}";
  CHECK(bytes_take(deep, ObjectScan{kEventNames, 3, 6}));
  ScannedObject out;
  CHECK_FALSE(hookd::scan_object_bytes(deep, ObjectScan{kEventNames, 3, 5}, out));
}

TEST_CASE("the byte scan reads the corpora as the parser scan does", "[scan]") {
  std::size_t taken = 0;
  const std::vector<std::string> bodies = corpus();
  for (const std::string& body : bodies)
    taken += check_all_scans(body);
  CHECK(taken > 0);
}

TEST_CASE("random edits of the corpora read the same both ways", "[scan]") {
  std::mt19937 rng(20261203);
  const std::vector<std::string> bodies = corpus();
  std::size_t taken = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string body = bodies[rng() % bodies.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < edits; ++i)
      body = mutate(std::move(body), rng);
    taken += check_all_scans(body);
  }
  CHECK(taken > 1000);  // the edits leave many bodies valid
}
