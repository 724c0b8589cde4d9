// --endpoint specs: an accepted spec obeys every rule the parser states
// (names, URLs, event types, header tokens, ranges, format-only keys), and
// writing it back as a spec parses to the same endpoint.
#include <chrono>
#include <string>

#include "fuzz_check.h"
#include "hookd/core/ascii.h"
#include "hookd/core/event.h"
#include "hookd/delivery/delivery.h"

namespace {

using hookd::EndpointFormat;
using hookd::EndpointSpec;

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// RFC 9110 tchar.
bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

template <typename Predicate>
bool all_of(std::string_view text, Predicate predicate) {
  for (char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

// The value of the first `key=value` entry, as the parser splits them.
std::string_view entry_value(std::string_view text, std::string_view key) {
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view entry = hookd::trim_ows(text.substr(0, comma));
    std::size_t eq = entry.find('=');
    if (eq != std::string_view::npos && hookd::trim_ows(entry.substr(0, eq)) == key) {
      return hookd::trim_ows(entry.substr(eq + 1));
    }
    if (comma == std::string_view::npos) return {};
    text.remove_prefix(comma + 1);
  }
}

void check_rules(const EndpointSpec& spec) {
  FUZZ_CHECK(!spec.name.empty() && spec.name.size() <= 64 && all_of(spec.name, name_char));
  FUZZ_CHECK(spec.name != "." && spec.name != "..");
  std::string url = hookd::ascii_lower(spec.url);
  const bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  // file: and syslog endpoints came after this target; their own keys
  // (max_bytes, keep, facility, ...) are not rendered back below.
  const bool file = url.rfind("file:", 0) == 0;
  const bool syslog = url.rfind("syslog+tcp://", 0) == 0 || url.rfind("syslog+tls://", 0) == 0;
  FUZZ_CHECK(http || file || syslog);
  FUZZ_CHECK(file == (spec.format == EndpointFormat::file));
  if (file) {
    FUZZ_CHECK(!spec.file_path.empty() && spec.file_path.front() == '/' &&
               spec.file_path.back() != '/');
  }
  if (syslog) FUZZ_CHECK(!spec.host.empty() && spec.port >= 1);
  FUZZ_CHECK(!spec.events.empty());
  for (const std::string& type : spec.events) {
    FUZZ_CHECK(type == "*" || hookd::valid_event_type(type));
  }
  for (const auto& [name, value] : spec.headers) {
    FUZZ_CHECK(!name.empty() && all_of(name, token_char));
    FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
  }
  FUZZ_CHECK(spec.timeout.count() > 0 && spec.timeout <= std::chrono::hours(24 * 366));
  FUZZ_CHECK(spec.connections >= 1 && spec.connections <= 1024);
  FUZZ_CHECK(spec.batch >= 1 && spec.batch <= 10000);
  FUZZ_CHECK(spec.cert.empty() == spec.key.empty());
  bool webhook = spec.format == EndpointFormat::webhook;
  if (spec.secret) FUZZ_CHECK(webhook);
  if (!spec.token.empty()) FUZZ_CHECK(spec.format == EndpointFormat::splunk_hec);
  if (webhook) FUZZ_CHECK(!spec.gzip && spec.batch == 100);
}

std::string render(const EndpointSpec& spec, std::string_view secret) {
  std::string out = "name=" + spec.name + ",url=" + spec.url + ",events=";
  for (std::size_t i = 0; i < spec.events.size(); ++i) {
    out += (i == 0 ? "" : "|") + spec.events[i];
  }
  out += ",format=" + std::string(hookd::format_name(spec.format));
  if (spec.secret) out += ",secret=" + std::string(secret);
  if (!spec.token.empty()) out += ",token=" + spec.token;
  for (const auto& [name, value] : spec.headers) {
    out += ",header=" + name + ": " + value;
  }
  if (!spec.ca.empty()) out += ",ca=" + spec.ca;
  if (!spec.cert.empty()) out += ",cert=" + spec.cert + ",key=" + spec.key;
  out += ",timeout=" + std::to_string(spec.timeout.count()) + "ms";
  out += ",connections=" + std::to_string(spec.connections);
  if (spec.format != EndpointFormat::webhook) {
    out += ",batch=" + std::to_string(spec.batch) + ",gzip=" + (spec.gzip ? "on" : "off");
  }
  return out;
}

bool same_endpoint(const EndpointSpec& a, const EndpointSpec& b) {
  return a.name == b.name && a.url == b.url && a.events == b.events && a.format == b.format &&
         a.secret.has_value() == b.secret.has_value() && a.token == b.token &&
         a.headers == b.headers && a.ca == b.ca && a.cert == b.cert && a.key == b.key &&
         a.timeout == b.timeout && a.connections == b.connections && a.batch == b.batch &&
         a.gzip == b.gzip;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hookd::fuzz::as_text(data, size);
  // Specs come from argv and the environment, which cannot carry a NUL
  // (the parser lets one through in header names and values).
  if (text.find('\0') != std::string_view::npos) return 0;
  auto spec = hookd::parse_endpoint_spec(text);
  if (!spec) {
    FUZZ_CHECK(spec.error().message.rfind("endpoint ", 0) == 0);
    return 0;
  }
  check_rules(*spec);
  if (spec->format == EndpointFormat::file || spec->format == EndpointFormat::syslog) return 0;

  std::string written = render(*spec, entry_value(text, "secret"));
  auto again = hookd::parse_endpoint_spec(written);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(same_endpoint(*again, *spec));
  FUZZ_CHECK(render(*again, entry_value(written, "secret")) == written);
  if (spec->secret) {
    // The same key signs the same way.
    FUZZ_CHECK(again->secret->sign("msg_1", 1700000000, text) ==
               spec->secret->sign("msg_1", 1700000000, text));
  }
  return 0;
}
