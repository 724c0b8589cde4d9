// Journal records read back at recovery (from_json over arbitrary bytes):
// an accepted record is a valid event, writing it again gives a record that
// reads back as the same event, and that record is also a valid request body.
#include <string>

#include "fuzz_check.h"
#include "hookd/core/event.h"
#include "json_equal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto event = hookd::from_json(hookd::fuzz::as_text(data, size));
  if (!event) {
    FUZZ_CHECK(!event.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(hookd::valid_event_id(event->id));
  FUZZ_CHECK(hookd::valid_event_type(event->type));
  FUZZ_CHECK(hookd::parse_rfc3339(event->timestamp).has_value());
  FUZZ_CHECK(!event->payload_json.empty() && event->payload_json.front() == '{');

  // Written again and re-read: the same event (doubles up to a few ulps,
  // see kExactPayloadRoundTrip in event_parse_fuzz.cpp).
  std::string record = hookd::to_json(*event);
  auto again = hookd::from_json(record);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->id == event->id && again->type == event->type &&
             again->timestamp == event->timestamp);
  FUZZ_CHECK(hookd::fuzz::same_json_text_up_to_ulps(again->payload_json, event->payload_json));

  // Replaying a stored event through POST /v1/events must be accepted as the
  // same event (a stored record is deeper than the request limit at most).
  hookd::ParseOptions options;
  options.now_unix_ms = 1795000000123;
  options.max_depth = 1025;
  auto replayed = hookd::parse_events(record, options);
  FUZZ_CHECK(replayed.ok() && replayed->size() == 1);
  const hookd::Event& request = replayed->front();
  FUZZ_CHECK(request.id == event->id && request.type == event->type &&
             request.timestamp == event->timestamp);
  FUZZ_CHECK(hookd::fuzz::same_json_text_up_to_ulps(request.payload_json, event->payload_json));
  return 0;
}
