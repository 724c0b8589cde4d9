// EndpointSpec: one SIEM endpoint as an --endpoint flag describes it (name,
// URL, format, events, credentials, TLS files, limits; for files the
// rotation, for syslog the message shape), and the rules its text must
// follow. Value types and pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/core/signature.h"

namespace hookd {

// webhook, splunk_hec and ndjson are HTTP(S) POSTs; file appends JSON lines
// to a local file; syslog sends RFC 5424 messages over TCP or TLS.
enum class EndpointFormat { webhook, splunk_hec, ndjson, file, syslog };

// What a syslog message carries after its header.
enum class SyslogBody { json, cef };

std::string_view format_name(EndpointFormat format);

// One --endpoint flag: 'name=NAME,url=URL[,key=value...]'. Values cannot
// contain ',' (the separator); a value may contain '='.
struct EndpointSpec {
  std::string name;  // [A-Za-z0-9_.-], 1..64 chars
  std::string url;   // http(s)://, file:///path, syslog+tcp:// or syslog+tls://, as given
  std::vector<std::string> events{"*"};  // event types; "*" = all
  EndpointFormat format = EndpointFormat::webhook;
  std::optional<WebhookSecret> secret;  // webhook only: signs every request
  std::string token;                    // splunk-hec only: "Authorization: Splunk <token>"
  std::vector<std::pair<std::string, std::string>> headers;  // extra, in order
  std::string ca;                                            // CA bundle (PEM); empty: system CAs
  std::string cert;  // mTLS client certificate (PEM), with key
  std::string key;
  std::chrono::milliseconds timeout{15000};  // one attempt, connect to response
  std::size_t connections = 4;               // keep-alive pool, = requests in flight
  std::size_t batch = 100;                   // events per request (batched formats)
  bool gzip = false;                         // batched formats only

  // format=file
  std::string file_path;        // the URL's absolute path, percent-decoded
  std::uint64_t max_bytes = 0;  // rotate before a batch would pass it; 0: never
  std::size_t keep = 5;         // rotated files kept: <path>.1 (newest) .. <path>.<keep>

  // format=syslog
  std::string host;  // the URL's host (IPv6 without brackets)
  std::uint16_t port = 0;
  bool tls = false;  // syslog+tls:// (RFC 5425)
  SyslogBody syslog_body = SyslogBody::json;
  int facility = 16;  // local0
  std::string app_name = "hookd";
  // How long the connection must stay up after the receiver's TCP
  // acknowledged a batch before the batch counts delivered.
  std::chrono::milliseconds settle{1000};

  // The text this spec was parsed from, trimmed: a reload compares it to tell
  // a changed endpoint. Holds the secrets: never shown.
  std::string source;

  bool accepts(std::string_view type) const;
  // webhook, splunk-hec or ndjson: sent as HTTP requests.
  bool is_http() const;
};

// Errors name the endpoint and the key: `endpoint "siem": unknown key "fromat"`.
// Checks that ca/cert/key files exist, so a typo fails at start-up.
Result<EndpointSpec> parse_endpoint_spec(std::string_view text);

// A syslog facility by name (kern, user, ..., local0..local7) or number 0-23.
std::optional<int> parse_syslog_facility(std::string_view text);

// 1-64 characters of A-Z a-z 0-9 _ . - (and not "." or ".."): the name keys
// the endpoint's files and journal cursor, so it must be a safe file name.
bool valid_endpoint_name(std::string_view name);

// An RFC 9110 token, as a header name must be.
bool valid_header_name(std::string_view name);

// Headers hookd computes itself (signature, framing); an endpoint's extra
// headers may not set them.
bool reserved_header(std::string_view name);

// The endpoint URL without user:password@ (for display, and for the
// connection: credentials travel as an Authorization header instead).
std::string redact_url(std::string_view url);

// "Basic <base64(user:password)>" from the URL's percent-decoded user info;
// nullopt when the URL has none.
std::optional<std::string> basic_auth_from_url(std::string_view url);

}  // namespace hookd
