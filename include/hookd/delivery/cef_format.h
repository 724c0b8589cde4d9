// ArcSight Common Event Format (CEF) for syslog endpoints with
// syslog_format=cef:
//   CEF:0|hoop.dev|hookd|<version>|<event type>|<name>|<severity>|<extension>
// with Hoop's session fields mapped onto CEF keys (both payload shapes: the
// runbook hook payload and the Svix webhook payload):
//   rt          the event timestamp (ms since the epoch)
//   externalId  the event id
//   act         session.open: the verb (exec, connect); otherwise the event type
//   suser       user_email          suid  user_id
//   dhost       the connection name
//   outcome     session.close: the exit code
//   msg         session.open: the input; session.close: the output (exit_err)
//   cs1 sessionId, cs2 connectionType, cs3 command, cs4 reviewStatus,
//   cs5 connectionReviewers, cs6 eventType (each with its csNLabel)
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hookd {

// A header field: '\' and '|' escaped with a backslash; a line break (not
// allowed in the header) becomes a space.
std::string cef_header_escape(std::string_view value);

// An extension value: '\' and '=' escaped with a backslash, a line feed as
// \n and a carriage return as \r.
std::string cef_extension_escape(std::string_view value);

// The CEF record for one event; `event_json` is to_json(event).
std::string cef_message(std::string_view event_json, std::int64_t time_ms,
                        std::string_view version);

}  // namespace hookd
