#include "hookd/delivery/endpoint_spec.h"

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
#include "hookd/delivery/retry_policy.h"
#include "hookd/delivery/svix_endpoint.h"

namespace hookd {

namespace {

std::string json_quote(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

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
  }
  return "webhook";
}

bool EndpointSpec::accepts(std::string_view type) const {
  for (const auto& e : events) {
    if (e == "*" || e == type) return true;
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
              std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
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
  if (!parsed || !parsed->has_userinfo()) return std::string(url);
  boost::urls::url copy(*parsed);
  copy.remove_userinfo();
  return std::string(copy.buffer());
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

// Splits 'k=v,k=v'; the first entry without '=' is kept for the error.
Pairs split_pairs(std::string_view text, std::optional<std::string_view>& bad_entry) {
  Pairs pairs;
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = text.find(',', pos);
    std::string_view entry =
        trim_ows(text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos));
    std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      if (!bad_entry) bad_entry = entry;
    } else {
      pairs.emplace_back(trim_ows(entry.substr(0, eq)), trim_ows(entry.substr(eq + 1)));
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return pairs;
}

// Sets one key of `spec`; the error text is what follows `key "<key>": `.
// Returns std::nullopt on success. `unknown` is set for a key hookd does not know.
std::optional<std::string> apply_key(EndpointSpec& spec, std::string_view key,
                                     std::string_view value, bool& unknown) {
  if (key == "name") {
    // checked before the other keys
  } else if (key == "url") {
    auto u = boost::urls::parse_absolute_uri(value);
    if (!u) return json_quote(value) + " is not a URL";
    std::string scheme = ascii_lower(u->scheme());
    if (scheme != "http" && scheme != "https") return "must be http:// or https://";
    if (u->host().empty()) return json_quote(value) + " has no host";
    spec.url = std::string(value);
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
    } else {
      return json_quote(value) + " is not one of webhook, splunk-hec, ndjson";
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
  } else {
    unknown = true;
  }
  return std::nullopt;
}

}  // namespace

Result<EndpointSpec> parse_endpoint_spec(std::string_view text) {
  std::optional<std::string_view> bad_entry;
  const Pairs pairs = split_pairs(text, bad_entry);

  std::optional<std::string_view> name;
  for (auto& [k, v] : pairs) {
    if (k == "name") {
      name = v;
      break;
    }
  }
  if (!name) return make_error("endpoint " + json_quote(text) + ": missing key \"name\"");
  const std::string who = "endpoint " + json_quote(*name);
  auto fail = [&](std::string_view key, const std::string& why) -> Error {
    return make_error(who + ": key " + json_quote(key) + ": " + why);
  };
  if (!valid_endpoint_name(*name)) {
    return fail("name", "must be 1-64 characters of A-Z a-z 0-9 _ . -");
  }
  if (bad_entry) {
    return make_error(who + ": " + json_quote(*bad_entry) +
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
  bool webhook = spec.format == EndpointFormat::webhook;
  if (spec.secret && !webhook) return fail("secret", "only for format=webhook");
  if (!spec.token.empty() && spec.format != EndpointFormat::splunk_hec) {
    return fail("token", "only for format=splunk-hec");
  }
  if (spec.gzip && webhook) return fail("gzip", "only for batched formats (splunk-hec, ndjson)");
  if (batch_given && webhook) return fail("batch", "only for batched formats (splunk-hec, ndjson)");
  return spec;
}

}  // namespace hookd
