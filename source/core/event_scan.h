// Reading one POST /v1/events event object in a single pass over the body
// (core/object_scan), without building a JSON tree: the members parse_events
// looks at, and the payload already written as the compact JSON
// json::serialize would give for it. Bodies the scan does not take (invalid JSON, arrays, bare Hoop
// payloads, a payload object with a repeated key, more keys or nesting than
// it keeps track of) go to the tree-based reader, which decides them exactly
// as before; the scan never decides an error itself. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hookd/core/object_scan.h"

namespace hookd::event_detail {

using hookd::ScannedMember;

struct ScannedEvent {
  ScannedMember type;
  ScannedMember id;
  ScannedMember timestamp;
  ScannedMember payload;       // text: the compact JSON when it is an object
  bool payload_finite = true;  // no number beyond double range
  // A double that may stand for an integer literal beyond 64 bits
  // (all_numbers_finite's wide_integral).
  bool payload_wide_integral = false;
};

// True when `body` is one event object the scan takes, filled into `out`;
// false when the tree-based reader must read it. `max_depth` as
// boost::json::parse_options::max_depth.
bool scan_event(std::string_view body, std::size_t max_depth, ScannedEvent& out);

}  // namespace hookd::event_detail
