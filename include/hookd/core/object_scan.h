// Reading one JSON object in a single pass over its text, without building a
// tree: the root members the caller names (their kinds, string texts and
// arrays of strings) and one object member, the payload, written as the
// compact JSON json::serialize would give for it. Bodies the scan does not
// take (invalid JSON, a root that is not an object, a payload with a
// repeated key, more keys or nesting than it keeps track of) are left to a
// tree-based reader; the scan never decides an error itself. Ingest's event
// reader and the Svix API's message reader both start here. Pure,
// thread-safe.
#pragma once

#include <array>
#include <boost/json/kind.hpp>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hookd {

// One named root member: whether it is there and the kind of its value (the
// last one, when the key repeats, as the tree keeps it).
struct ScannedMember {
  bool present = false;
  boost::json::kind kind = boost::json::kind::null;
  std::string text;  // a string value; for the payload member, its compact JSON
  // An array value: its string elements, and whether every element is one.
  std::vector<std::string> strings;
  bool strings_only = true;
};

constexpr std::size_t kMaxScannedMembers = 8;
constexpr std::size_t kMaxScannedNameBytes = 32;

struct ObjectScan {
  // The root members to record (at most kMaxScannedMembers names of at most
  // kMaxScannedNameBytes bytes each); members[i] is names[i].
  std::span<const std::string_view> names;
  // The index in `names` of the member whose object value is written out.
  std::size_t payload = 0;
  std::size_t max_depth = 64;  // as boost::json::parse_options::max_depth
};

struct ScannedObject {
  std::array<ScannedMember, kMaxScannedMembers> members;
  bool payload_finite = true;  // no number beyond double range
  // A double that may stand for an integer literal beyond 64 bits.
  bool payload_wide_integral = false;
};

// True when `body` is one object the scan read to its end, filled into `out`.
// It tries scan_object_bytes, then scan_object_parser.
bool scan_object(std::string_view body, const ObjectScan& scan, ScannedObject& out);

// The two readers, apart for the tests that compare them. The byte scan
// (core/object_scan_bytes) reads the common body in one pass of its own:
// a payload that becomes its compact JSON by leaving out whitespace (only
// the serializer's own escapes, integers of up to 18 digits, no repeated
// key); it declines the rest, and what it takes the parser scan takes the
// same. The parser scan reads with Boost.JSON's basic_parser and rewrites
// the payload. Either expects `out` as scan_object leaves it on a decline
// (cleared) and may leave it partly filled when it declines.
bool scan_object_bytes(std::string_view body, const ObjectScan& scan, ScannedObject& out);
bool scan_object_parser(std::string_view body, const ObjectScan& scan, ScannedObject& out);

}  // namespace hookd
