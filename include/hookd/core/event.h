// Event: one session event as accepted by POST /v1/events, and the parsing and
// validation that turn a request body into events (or a 400 reason).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/event_id.h"
#include "hookd/core/result.h"
#include "hookd/core/rfc3339.h"

namespace hookd {

// What a message created through the Svix API (POST /api/v1/app/{app}/msg)
// carries besides the event: delivery to the application's endpoints needs
// it. The journal keeps it with the record; to_json leaves it out.
struct MessageFields {
  std::string app_id;                 // "app_..."
  std::string event_id;               // the caller's eventId; empty when none
  std::vector<std::string> channels;  // empty: none given
};

struct Event {
  std::string id;            // caller's id, or a generated time-ordered one
  std::string type;          // dotted, e.g. "session.open"
  std::string timestamp;     // RFC 3339, caller's or set on arrival
  std::string payload_json;  // the `payload` object, compact JSON
  std::int64_t arrival_unix_ms = 0;
  std::optional<MessageFields> message;  // set for Svix API messages only
};

struct ParseOptions {
  // Used as the id of a single event that carries none (the Standard Webhooks
  // webhook-id when the request was signed).
  std::optional<std::string> default_id;
  std::int64_t now_unix_ms = 0;    // arrival time; 0 means "read the clock"
  std::size_t max_events = 10000;  // per request
  std::size_t max_depth = 64;      // JSON nesting, counting the body itself
};

// Parses one event object or an array of them. Errors name the offending
// field and, for arrays, the index: "events[2].type: missing". `id` and
// `timestamp` set to null count as absent; unknown fields are ignored.
Result<std::vector<Event>> parse_events(std::string_view body, const ParseOptions& options = {});

// The event as JSON: {"id":…,"type":…,"timestamp":…,"payload":…}. This is the
// body delivered to webhook endpoints and stored in the journal.
std::string to_json(const Event& event);

// Parses what to_json produced (journal recovery); arrival time is not part of it.
Result<Event> from_json(std::string_view json);

// MessageFields as the journal stores them (compact JSON), and back; nullopt
// for text encode_message_fields did not produce.
std::string encode_message_fields(const MessageFields& fields);
std::optional<MessageFields> decode_message_fields(std::string_view text);

// Ids are 1..128 chars of [A-Za-z0-9_.:-].
bool valid_event_id(std::string_view id);

// Types are 1..128 chars: dot-separated non-empty segments of [A-Za-z0-9_-],
// e.g. "session.open".
bool valid_event_type(std::string_view type);

// "session.open" -> "session-open.runbook.py" (the file under hoop-hooks/).
std::string hook_script_name(std::string_view type);

}  // namespace hookd
