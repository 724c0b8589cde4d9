#include "event_scan.h"

#include <array>

#include "hookd/core/object_scan.h"

namespace hookd::event_detail {

namespace {

// The root members parse_events looks at, in ScannedObject::members order.
constexpr std::array<std::string_view, 5> kNames = {"type", "id", "timestamp", "payload",
                                                    "event_type"};
enum : std::size_t { kType, kId, kTimestamp, kPayload, kEventType };

}  // namespace

bool scan_event(std::string_view body, std::size_t max_depth, ScannedEvent& out) {
  const ObjectScan scan{kNames, kPayload, max_depth};
  ScannedObject scanned;
  if (!scan_object(body, scan, scanned)) return false;
  // A bare Hoop payload (a string event_type, no type) is read by the tree.
  const ScannedMember& event_type = scanned.members[kEventType];
  if (event_type.kind == boost::json::kind::string && !scanned.members[kType].present) {
    return false;
  }
  out = ScannedEvent{};
  out.type = std::move(scanned.members[kType]);
  out.id = std::move(scanned.members[kId]);
  out.timestamp = std::move(scanned.members[kTimestamp]);
  out.payload = std::move(scanned.members[kPayload]);
  out.payload_finite = scanned.payload_finite;
  out.payload_wide_integral = scanned.payload_wide_integral;
  return true;
}

}  // namespace hookd::event_detail
