#include "hookd/delivery/endpoint_spec.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <set>

#include "hookd/core/ascii.h"
#include "hookd/core/event.h"
#include "hookd/core/text.h"
#include "hookd/delivery/retry_policy.h"
#include "hookd/delivery/svix_endpoint.h"

namespace hookd {

namespace {

// The whole of `s` as a decimal number in [low, high].
std::optional<std::size_t> count_in(std::string_view s, std::size_t low, std::size_t high) {
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if (n < low || n > high) return std::nullopt;
  return n;
}

}  // namespace

std::string_view format_name(EndpointFormat format) {
  switch (format) {
    case EndpointFormat::webhook:
      return "webhook";
    case EndpointFormat::splunk_hec:
      return "splunk-hec";
    case EndpointFormat::ndjson:
      return "ndjson";
    case EndpointFormat::file:
      return "file";
    case EndpointFormat::syslog:
      return "syslog";
  }
  return "webhook";
}

bool EndpointSpec::is_http() const {
  return format == EndpointFormat::webhook || format == EndpointFormat::splunk_hec ||
         format == EndpointFormat::ndjson;
}

std::optional<int> parse_syslog_facility(std::string_view text) {
  // RFC 5424 section 6.2.1, table 1 (the names are the ones syslog.conf uses).
  static const char* const kNames[] = {
      "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
      "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
      "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};
  for (int i = 0; i < 24; ++i) {
    if (text == kNames[i]) return i;
  }
  if (auto n = count_in(text, 0, 23)) return static_cast<int>(*n);
  return std::nullopt;
}

bool EndpointSpec::accepts(std::string_view type) const {
  // hook.* events are hookd's own (hooks/hook_finished.h): an endpoint gets
  // them only by naming them, so turning hooks on adds nothing to the
  // traffic of endpoints that take every event.
  const bool own = type.starts_with("hook.");
  for (const auto& e : events) {
    if ((e == "*" && !own) || e == type) return true;
  }
  return false;
}

bool EndpointSpec::accepts(const Event& event) const {
  return svix ? svix_endpoint_matches(*svix->get(), event) : accepts(event.type);
}

bool EndpointSpec::paused() const {
  return svix && svix->get()->disabled;
}

bool valid_endpoint_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);  // strchr finds the NUL
    if (!ok) return false;
  }
  return true;
}

bool reserved_header(std::string_view name) {
  static const char* const kReserved[] = {
      "webhook-id",     "webhook-timestamp", "webhook-signature",
      "content-length", "content-encoding",  "transfer-encoding",
      "host",           "connection"};
  for (const char* r : kReserved) {
    if (ascii_iequals(name, r)) return true;
  }
  return false;
}

std::string redact_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (parsed) {
    if (!parsed->has_userinfo()) return std::string(url);
    boost::urls::url copy(*parsed);
    copy.remove_userinfo();
    return std::string(copy.buffer());
  }
  // Not a URL (a typo, a space in the password), but shaped like one: what
  // sits between "://" and the authority's last '@' is still user info.
  std::size_t start = url.find("://");
  if (start == std::string_view::npos) return std::string(url);
  start += 3;
  std::size_t end = std::min(url.find_first_of("/?#", start), url.size());
  std::size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url);
  out.erase(start, at + 1);
  return out;
}

std::optional<std::string> basic_auth_from_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_userinfo()) return std::nullopt;
  std::string user = parsed->user();
  std::string pass = parsed->password();
  return "Basic " + base64_encode(user + ":" + pass);
}

namespace {

using Pairs = std::vector<std::pair<std::string_view, std::string_view>>;

// Splits 'k=v,k=v'; the position (1-based) of the first entry without '='
// is kept for the error: the entry itself may be the tail of a secret that
// held a ','.
Pairs split_pairs(std::string_view text, std::optional<std::size_t>& bad_entry) {
  Pairs pairs;
  std::size_t pos = 0;
  for (std::size_t number = 1;; ++number) {
    std::size_t comma = text.find(',', pos);
    std::string_view entry =
        trim_ows(text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos));
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      if (!bad_entry) bad_entry = number;
    } else {
      pairs.emplace_back(trim_ows(entry.substr(0, eq)), trim_ows(entry.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return pairs;
}

// "4096", "64KiB", "100MiB", "1GiB" (K, M, G are binary too).
std::optional<std::uint64_t> parse_size_value(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  auto n = count_in(text.substr(0, digits), 0, std::size_t(1) << 50);
  if (!n) return std::nullopt;
  std::string unit = ascii_lower(text.substr(digits));
  int shift = -1;
  if (unit.empty() || unit == "b") shift = 0;
  if (unit == "k" || unit == "kb" || unit == "kib") shift = 10;
  if (unit == "m" || unit == "mb" || unit == "mib") shift = 20;
  if (unit == "g" || unit == "gb" || unit == "gib") shift = 30;
  if (shift < 0) return std::nullopt;
  return static_cast<std::uint64_t>(*n) << shift;
}

// url=: http(s)://host/..., file:///absolute/path, syslog+tcp://host[:port]
// or syslog+tls://host[:port]. The format follows from the scheme unless
// format= says otherwise (checked once every key is read).
std::optional<std::string> apply_url(EndpointSpec& spec, std::string_view value) {
  auto u = boost::urls::parse_absolute_uri(value);
  // Every message shows the URL without its user info (a password).
  const std::string shown = json_quote(redact_url(value));
  if (!u) return shown + " is not a URL";
  const std::string scheme = ascii_lower(u->scheme());
  if (scheme == "file") {
    std::string host = u->host();
    if (!host.empty() && host != "localhost") return "file:// URLs name a local path: file:///path";
    std::string path = u->path();
    if (path.empty() || path.front() != '/' || path.back() == '/') {
      return shown + " does not name a file (file:///path/events.ndjson)";
    }
    spec.file_path = std::move(path);
  } else if (scheme == "syslog+tcp" || scheme == "syslog+tls") {
    if (u->host().empty()) return shown + " has no host";
    spec.tls = scheme == "syslog+tls";
    spec.host = u->host_type() == boost::urls::host_type::ipv6
                    ? std::string(u->encoded_host_address())
                    : std::string(u->host());
    spec.port = spec.tls ? 6514 : 514;  // RFC 5425 and the traditional syslog port
    if (u->has_port()) {
      auto port = count_in(u->port(), 1, 65535);
      if (!port) return shown + " has a bad port";
      spec.port = static_cast<std::uint16_t>(*port);
    }
    if (!u->encoded_path().empty() && u->encoded_path() != "/") {
      return "syslog URLs have no path: syslog+tls://host:6514";
    }
  } else if (scheme == "http" || scheme == "https") {
    if (u->host().empty()) return shown + " has no host";
  } else {
    return "must be http://, https://, file:// or syslog+tcp:// / syslog+tls://";
  }
  spec.url = std::string(value);
  return std::nullopt;
}

// Sets one key of `spec`; the error text is what follows `key "<key>": `.
// Returns std::nullopt on success. `unknown` is set for a key hookd does not know.
std::optional<std::string> apply_key(EndpointSpec& spec, std::string_view key,
                                     std::string_view value, bool& unknown) {
  if (key == "name") {
    // checked before the other keys
  } else if (key == "url") {
    if (auto why = apply_url(spec, value)) return why;
  } else if (key == "events") {
    spec.events.clear();
    std::size_t p = 0;
    for (;;) {
      std::size_t bar = value.find('|', p);
      std::string_view type =
          trim_ows(value.substr(p, bar == std::string_view::npos ? value.npos : bar - p));
      if (type != "*" && !valid_event_type(type)) {
        return json_quote(type) + " is not an event type (e.g. session.open, or *)";
      }
      spec.events.emplace_back(type);
      if (bar == std::string_view::npos) break;
      p = bar + 1;
    }
  } else if (key == "format") {
    if (value == "webhook") {
      spec.format = EndpointFormat::webhook;
    } else if (value == "splunk-hec") {
      spec.format = EndpointFormat::splunk_hec;
    } else if (value == "ndjson") {
      spec.format = EndpointFormat::ndjson;
    } else if (value == "file") {
      spec.format = EndpointFormat::file;
    } else if (value == "syslog") {
      spec.format = EndpointFormat::syslog;
    } else {
      return json_quote(value) + " is not one of webhook, splunk-hec, ndjson, file, syslog";
    }
  } else if (key == "secret") {
    if (value.rfind("whsec_", 0) != 0) return "must be a whsec_... secret";
    auto secret = WebhookSecret::parse(value);
    if (!secret) return "not a whsec_ secret: " + secret.error().message;
    spec.secret = std::move(secret.value());
  } else if (key == "token") {
    spec.token = std::string(value);
  } else if (key == "header") {
    std::size_t colon = value.find(':');
    if (colon == std::string_view::npos) return "must be \"Name: value\"";
    std::string_view hname = trim_ows(value.substr(0, colon));
    std::string_view hvalue = trim_ows(value.substr(colon + 1));
    if (!valid_header_name(hname)) return json_quote(hname) + " is not a header name";
    if (hvalue.find_first_of("\r\n") != std::string_view::npos) {
      return "value contains a line break";
    }
    // A NUL would end the value early in any C-string API and is not a
    // field-value character (RFC 9110 5.5); nor are other controls but tab.
    if (std::any_of(hvalue.begin(), hvalue.end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return (u < 0x20 && c != '\t') || u == 0x7f;
        })) {
      return "value contains a control character";
    }
    if (reserved_header(hname)) return json_quote(hname) + " is set by hookd";
    spec.headers.emplace_back(std::string(hname), std::string(hvalue));
  } else if (key == "ca" || key == "cert" || key == "key") {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::path(value), ec)) {
      return "cannot read file " + json_quote(value);
    }
    (key == "ca" ? spec.ca : key == "cert" ? spec.cert : spec.key) = std::string(value);
  } else if (key == "timeout") {
    auto d = parse_delivery_duration(value);
    if (!d) return d.error().message;
    if (d->count() <= 0) return "must be positive";
    spec.timeout = *d;
  } else if (key == "connections") {
    auto n = count_in(value, 1, 1024);
    if (!n) return "must be 1..1024";
    spec.connections = *n;
  } else if (key == "batch") {
    auto n = count_in(value, 1, 10000);
    if (!n) return "must be 1..10000";
    spec.batch = *n;
  } else if (key == "gzip") {
    if (value == "on" || value == "true") {
      spec.gzip = true;
    } else if (value == "off" || value == "false") {
      spec.gzip = false;
    } else {
      return "must be on or off";
    }
  } else if (key == "max_bytes") {
    auto n = parse_size_value(value);
    if (!n || *n < 4096) return "must be a size of at least 4KiB, e.g. 100MiB";
    spec.max_bytes = *n;
  } else if (key == "keep") {
    auto n = count_in(value, 1, 1000);
    if (!n) return "must be 1..1000";
    spec.keep = *n;
  } else if (key == "syslog_format") {
    if (value == "json") {
      spec.syslog_body = SyslogBody::json;
    } else if (value == "cef") {
      spec.syslog_body = SyslogBody::cef;
    } else {
      return json_quote(value) + " is not one of json, cef";
    }
  } else if (key == "facility") {
    auto f = parse_syslog_facility(value);
    if (!f)
      return json_quote(value) + " is not a facility (user, daemon, auth, local0..local7, 0-23)";
    spec.facility = *f;
  } else if (key == "app_name") {
    // RFC 5424 APP-NAME: 1*48 PRINTUSASCII.
    if (value.size() > 48) return "must be at most 48 characters";
    for (char c : value) {
      if (c < 33 || c > 126) return "must be printable ASCII without spaces";
    }
    spec.app_name = std::string(value);
  } else if (key == "settle") {
    auto d = parse_delivery_duration(value);
    if (!d) return d.error().message;
    spec.settle = *d;
  } else {
    unknown = true;
  }
  return std::nullopt;
}

// The URL's scheme and format= agree, and each format's own keys are given
// only to it; the key and the error text otherwise.
std::optional<std::pair<std::string, std::string>> check_format_keys(
    EndpointSpec& spec, const std::set<std::string_view>& given) {
  const bool file_url = !spec.file_path.empty();
  const bool syslog_url = spec.port != 0;
  if (!given.count("format")) {
    if (file_url) spec.format = EndpointFormat::file;
    if (syslog_url) spec.format = EndpointFormat::syslog;
  }
  const bool file = spec.format == EndpointFormat::file;
  const bool syslog = spec.format == EndpointFormat::syslog;
  if (file != file_url) {
    return std::make_pair(
        "url", file ? "format=file needs url=file:///path" : "a file:// URL needs format=file");
  }
  if (syslog != syslog_url) {
    return std::make_pair("url", syslog ? "format=syslog needs url=syslog+tcp:// or syslog+tls://"
                                        : "a syslog URL needs format=syslog");
  }
  struct Owned {
    const char* key;
    bool allowed;
    const char* only;
  };
  const Owned owned[] = {
      {"max_bytes", file, "only for format=file"},
      {"keep", file, "only for format=file"},
      {"syslog_format", syslog, "only for format=syslog"},
      {"facility", syslog, "only for format=syslog"},
      {"app_name", syslog, "only for format=syslog"},
      {"settle", syslog, "only for format=syslog"},
      {"connections", spec.is_http(),
       "only for HTTP endpoints (a file or syslog endpoint has one)"},
      {"timeout", !file, "not for format=file"},
      {"ca", !file && !(syslog && !spec.tls), "only for https:// and syslog+tls:// endpoints"},
      {"cert", !file && !(syslog && !spec.tls), "only for https:// and syslog+tls:// endpoints"},
      {"key", !file && !(syslog && !spec.tls), "only for https:// and syslog+tls:// endpoints"},
  };
  for (const Owned& o : owned) {
    if (!o.allowed && given.count(o.key)) return std::make_pair(o.key, o.only);
  }
  if (!spec.headers.empty() && !spec.is_http()) {
    return std::make_pair("header", "only for HTTP endpoints");
  }
  if (given.count("keep") && !given.count("max_bytes")) {
    return std::make_pair("keep", "needs max_bytes (files rotate only by size)");
  }
  return std::nullopt;
}

}  // namespace

Result<EndpointSpec> parse_endpoint_spec(std::string_view text) {
  std::optional<std::size_t> bad_entry;
  const Pairs pairs = split_pairs(text, bad_entry);

  std::optional<std::string_view> name;
  for (auto& [k, v] : pairs) {
    if (k == "name") {
      name = v;
      break;
    }
  }
  if (!name) {
    // Named by its keys: the values may be secrets.
    std::string keys;
    for (auto& [k, v] : pairs)
      keys += (keys.empty() ? "" : ", ") + json_quote(k);
    return make_error("endpoint with keys " + (keys.empty() ? std::string("(none)") : keys) +
                      ": missing key \"name\"");
  }
  const std::string who = "endpoint " + json_quote(*name);
  auto fail = [&](std::string_view key, const std::string& why) -> Error {
    return make_error(who + ": key " + json_quote(key) + ": " + why);
  };
  if (!valid_endpoint_name(*name)) {
    return fail("name", "must be 1-64 characters of A-Z a-z 0-9 _ . -");
  }
  if (bad_entry) {
    return make_error(who + ": entry " + std::to_string(*bad_entry) +
                      " is not key=value (values cannot contain ',')");
  }

  EndpointSpec spec;
  spec.name = std::string(*name);
  std::set<std::string_view> seen;
  bool batch_given = false;
  for (auto& [key, value] : pairs) {
    if (key != "header" && !seen.insert(key).second) return fail(key, "given twice");
    if (value.empty()) return fail(key, "empty value");
    bool unknown = false;
    if (auto why = apply_key(spec, key, value, unknown)) return fail(key, *why);
    if (unknown) return make_error(who + ": unknown key " + json_quote(key));
    batch_given = batch_given || key == "batch";
  }
  if (spec.url.empty()) return make_error(who + ": missing key \"url\"");
  if (spec.cert.empty() != spec.key.empty()) {
    return fail(spec.cert.empty() ? "cert" : "key", "cert and key go together");
  }
  if (auto why = check_format_keys(spec, seen)) return fail(why->first, why->second);
  bool webhook = spec.format == EndpointFormat::webhook;
  if (spec.secret && !webhook) return fail("secret", "only for format=webhook");
  if (!spec.token.empty() && spec.format != EndpointFormat::splunk_hec) {
    return fail("token", "only for format=splunk-hec");
  }
  bool http_batched =
      spec.format == EndpointFormat::splunk_hec || spec.format == EndpointFormat::ndjson;
  if (spec.gzip && !http_batched) {
    return fail("gzip", "only for batched HTTP formats (splunk-hec, ndjson)");
  }
  if (batch_given && webhook) {
    return fail("batch", "only for batched formats (splunk-hec, ndjson, file, syslog)");
  }
  spec.source = std::string(trim_ows(text));
  return spec;
}

}  // namespace hookd
