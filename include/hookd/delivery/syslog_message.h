// Syslog messages as RFC 5424 writes them, and the octet-counted framing
// RFC 5425 (TLS) and RFC 6587 (TCP) carry them in:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [hookd@32473 id="…" type="…"] MSG
// PRI = facility * 8 + severity; MSGID is the event type; the structured
// data element names the event (32473 is the example Private Enterprise
// Number RFC 5612 reserves for documentation). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hookd {

// RFC 5424 severities hookd uses.
inline constexpr int kSyslogSeverityInformational = 6;

// The SD-ID of hookd's structured data element.
inline constexpr std::string_view kSyslogSdId = "hookd@32473";

// What is the same in every message of one endpoint.
struct SyslogHeader {
  int facility = 16;     // 0..23
  std::string hostname;  // this machine
  std::string app_name = "hookd";
  std::string procid;  // the daemon's pid
};

int syslog_pri(int facility, int severity);

// An RFC 5424 header field (HOSTNAME, APP-NAME, PROCID, MSGID): printable
// US-ASCII (33..126) of at most `max` characters; anything else becomes '_',
// and an empty value the NILVALUE "-".
std::string syslog_header_field(std::string_view value, std::size_t max);

// RFC 5424 TIMESTAMP in UTC with milliseconds: 2026-11-24T10:15:02.123Z.
std::string syslog_timestamp(std::int64_t unix_ms);

// A PARAM-VALUE with '"', '\' and ']' escaped by a backslash (RFC 5424
// section 6.3.3); other bytes as they are.
std::string sd_param_escape(std::string_view value);

// [hookd@32473 id="<event id>" type="<event type>"]
std::string hookd_structured_data(std::string_view event_id, std::string_view event_type);

// One whole message. MSG follows the structured data after one space.
std::string rfc5424_message(const SyslogHeader& header, int severity, std::int64_t time_ms,
                            std::string_view msgid, std::string_view structured_data,
                            std::string_view msg);

// Octet-counting framing: MSG-LEN SP SYSLOG-MSG, MSG-LEN the decimal byte count.
std::string octet_frame(std::string_view message);

}  // namespace hookd
