// Hoop's two payload shapes for one session event: the webhook payload its
// gateway sends through the Svix API, and the runbook hook payload its own
// runbook hooks receive in HOOP_RUNBOOK_HOOK_PAYLOAD. Scripts written for
// Hoop's hooks expect the second; mapping here lets them run unchanged on the
// events Hoop sends to hookd. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookd {

// How a hook receives the event payload (--hook-payload).
enum class HookPayloadMode {
  hoop,  // Hoop webhook payloads of session.open/close are mapped; others as sent
  raw,   // always the payload as sent
};

// Whether `payload_json` is a Hoop webhook payload (an object with a string
// "event_type"), as Svix delivers it. Such a body posted to /v1/events carries
// no "type" of its own.
bool is_hoop_webhook_payload(std::string_view payload_json);

// The runbook hook payload for a Hoop session.open / session.close webhook
// payload, as compact JSON:
//   id      <- event_id (the message's eventId)
//   sid     <- id (the session id)
//   command <- command (null when absent, as Hoop's Go structs marshal it)
//   input_file "" ; the event that did not fire is null
//   event_session_open  {verb, connection_name <- connection, connection_type,
//     connection_subtype, connection_envs (an object name -> "": webhooks carry
//     names only), connection_reviewers, input (base64-decoded; bytes that are
//     not UTF-8 become U+FFFD, as Hoop's Go JSON encoder writes them), user_email}
//   event_session_close {exit_code, output <- exit_err}
// nullopt when the payload is not such a webhook payload (another event type,
// already in the runbook shape, or not JSON): the caller passes it as sent.
std::optional<std::string> hoop_runbook_payload(std::string_view payload_json,
                                                std::string_view event_id);

// The Hoop session id an event's payload names: "id" of a Hoop webhook
// payload, "sid" of one in the runbook shape; nullopt for any other payload.
std::optional<std::string> hoop_session_id(std::string_view payload_json);

// What a hook gets in HOOP_RUNBOOK_HOOK_PAYLOAD under `mode`.
std::string hook_payload_for(HookPayloadMode mode, std::string_view payload_json,
                             std::string_view event_id);

}  // namespace hookd
