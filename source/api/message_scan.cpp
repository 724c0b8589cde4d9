#include "hookd/api/message_scan.h"

#include <array>

#include "hookd/api/route_support.h"
#include "hookd/core/object_scan.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 7> kNames = {
    "eventType", "eventId", "payload", "channels", "data", "application", "payloadRetentionPeriod"};
enum : std::size_t { kEventType, kEventId, kPayload, kChannels, kData, kApplication, kRetention };

}  // namespace

bool scan_message(std::string_view body, MessageInput& out) {
  const ObjectScan scan{kNames, kPayload, kMaxBodyDepth};
  ScannedObject scanned;
  if (!scan_object(body, scan, scanned)) return false;
  auto& members = scanned.members;
  // What only the tree reads: the payload's other name, implicit creation
  // and the retention period are rare in creates.
  if (members[kData].present || members[kApplication].present || members[kRetention].present) {
    return false;
  }
  const ScannedMember& type = members[kEventType];
  if (type.kind != json::kind::string || !valid_type_name(type.text)) return false;
  const ScannedMember& id = members[kEventId];
  if (id.present && id.kind != json::kind::null &&
      (id.kind != json::kind::string || !event_id_problem(id.text).empty())) {
    return false;
  }
  const ScannedMember& payload = members[kPayload];
  if (payload.kind != json::kind::object || !scanned.payload_finite) return false;
  ScannedMember& channels = members[kChannels];
  if (channels.present && channels.kind != json::kind::null) {
    if (channels.kind != json::kind::array || !channels.strings_only ||
        !keep_message_channels(channels.strings)) {
      return false;
    }
    out.channels = std::move(channels.strings);
  }
  out.event_type = std::move(members[kEventType].text);
  if (id.kind == json::kind::string) out.event_id = std::move(members[kEventId].text);
  out.payload_json = std::move(members[kPayload].text);
  return true;
}

}  // namespace hookd::api
