#include "hookd/delivery/delivery.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "hookd/core/ascii.h"
#include "hookd/core/durable_file.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"

namespace hookd {

namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

// ---------------------------------------------------------------------------
// Small text helpers

std::string json_quote(std::string_view s) {
  return json::serialize(json::string(s));
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
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

// RFC 9110 token characters, for header names.
bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok) return false;
  }
  return true;
}

// Headers hookd computes itself; letting a flag override them would break
// signatures or framing.
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

void set_header(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name,
                std::string value) {
  for (auto& h : headers) {
    if (ascii_iequals(h.first, name)) {
      h.second = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::move(value));
}

// Percent-decoded "user:password" from the URL, as an Authorization value.
std::optional<std::string> basic_auth_from_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_userinfo()) return std::nullopt;
  std::string user = parsed->user();
  std::string pass = parsed->password();
  return "Basic " + base64_encode(user + ":" + pass);
}

// ---------------------------------------------------------------------------
// Bodies

void append_splunk_event(std::string& out, std::string_view event_json, std::int64_t time_ms,
                         std::string_view type, std::string_view host_quoted) {
  if (time_ms < 0) time_ms = 0;
  char ms[8];
  std::snprintf(ms, sizeof ms, "%03d", static_cast<int>(time_ms % 1000));
  out += "{\"time\":";
  out += std::to_string(time_ms / 1000);
  out += '.';
  out += ms;
  out += ",\"host\":";
  out += host_quoted;
  out += ",\"source\":\"hookd\",\"sourcetype\":";
  out += json_quote(std::string("hookd:") + std::string(type));
  out += ",\"event\":";
  out += event_json;
  out += "}\n";
}

std::int64_t event_time_ms(const Event& event) {
  if (auto t = parse_rfc3339(event.timestamp)) return *t;
  return event.arrival_unix_ms;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  static const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
  std::vector<std::string_view> tok;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::strchr(" ,-:", text[i]) != nullptr)
      ++i;
    std::size_t start = i;
    while (i < text.size() && std::strchr(" ,-:", text[i]) == nullptr)
      ++i;
    if (i > start) tok.push_back(text.substr(start, i - start));
  }
  auto month_of = [&](std::string_view t) -> int {
    for (int m = 0; m < 12; ++m) {
      if (ascii_iequals(t, kMonths[m])) return m + 1;
    }
    return 0;
  };
  auto num = [](std::string_view t, std::uint64_t& v) { return parse_uint(t, v); };
  std::uint64_t day = 0, year = 0, h = 0, m = 0, s = 0;
  int month = 0;
  if (tok.size() >= 7 && (month = month_of(tok[2])) != 0) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
    if (!num(tok[1], day) || !num(tok[3], year) || !num(tok[4], h) || !num(tok[5], m) ||
        !num(tok[6], s)) {
      return std::nullopt;
    }
    if (tok[3].size() == 2) year += year < 70 ? 2000 : 1900;
  } else if (tok.size() >= 7 && (month = month_of(tok[1])) != 0) {
    // asctime "Sun Nov  6 08:49:37 1994"
    if (!num(tok[2], day) || !num(tok[3], h) || !num(tok[4], m) || !num(tok[5], s) ||
        !num(tok[6], year)) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (h > 23 || m > 59 || s > 60 || year < 1970 || year > 9999) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(year)),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;
  auto days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return static_cast<std::int64_t>(days) * 86400 + static_cast<std::int64_t>(h * 3600 + m * 60 + s);
}

}  // namespace

// ---------------------------------------------------------------------------
// Specs and schedules

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

namespace {

// Like config's parse_duration, with fractions ("1.5s") and an error text.
Result<milliseconds> parse_span(std::string_view text) {
  std::string_view s = trim_ows(text);
  std::size_t end = 0;
  while (end < s.size() && ((s[end] >= '0' && s[end] <= '9') || s[end] == '.'))
    ++end;
  std::string_view number = s.substr(0, end);
  std::string_view unit = s.substr(end);
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size()) {
    return make_error(json_quote(text) + " is not a duration (e.g. 250ms, 5s, 5m, 2h)");
  }
  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60 * 1000;
  } else if (unit == "h") {
    scale = 3600 * 1000;
  } else {
    return make_error(json_quote(text) + ": unknown unit " + json_quote(unit) +
                      " (use ms, s, m or h)");
  }
  double total = value * scale;
  if (!std::isfinite(total) || total > 366.0 * 24 * 3600 * 1000) {
    return make_error(json_quote(text) + " is longer than a year");
  }
  return milliseconds(static_cast<std::int64_t>(std::llround(total)));
}

}  // namespace

Result<std::vector<milliseconds>> parse_retry_schedule(std::string_view text) {
  std::vector<milliseconds> out;
  if (trim_ows(text).empty()) return make_error("retry schedule is empty");
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    auto d = parse_span(item);
    if (!d)
      return make_error("retry schedule entry " + std::to_string(out.size() + 1) + ": " +
                        d.error().message);
    out.push_back(*d);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::vector<milliseconds> default_retry_schedule() {
  using namespace std::chrono;
  return {seconds(5), minutes(5), minutes(30), hours(2), hours(5), hours(10), hours(10)};
}

Result<EndpointSpec> parse_endpoint_spec(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  std::optional<std::string_view> bad_entry;
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
    if (key == "name") {
      // handled above
    } else if (key == "url") {
      auto u = boost::urls::parse_absolute_uri(value);
      if (!u) return fail(key, json_quote(value) + " is not a URL");
      std::string scheme = ascii_lower(u->scheme());
      if (scheme != "http" && scheme != "https") return fail(key, "must be http:// or https://");
      if (u->host().empty()) return fail(key, json_quote(value) + " has no host");
      spec.url = std::string(value);
    } else if (key == "events") {
      spec.events.clear();
      std::size_t p = 0;
      for (;;) {
        std::size_t bar = value.find('|', p);
        std::string_view type =
            trim_ows(value.substr(p, bar == std::string_view::npos ? value.npos : bar - p));
        if (type != "*" && !valid_event_type(type)) {
          return fail(key, json_quote(type) + " is not an event type (e.g. session.open, or *)");
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
        return fail(key, json_quote(value) + " is not one of webhook, splunk-hec, ndjson");
      }
    } else if (key == "secret") {
      if (value.rfind("whsec_", 0) != 0) return fail(key, "must be a whsec_... secret");
      auto secret = WebhookSecret::parse(value);
      if (!secret) return fail(key, "not a whsec_ secret: " + secret.error().message);
      spec.secret = std::move(secret.value());
    } else if (key == "token") {
      spec.token = std::string(value);
    } else if (key == "header") {
      std::size_t colon = value.find(':');
      if (colon == std::string_view::npos) return fail(key, "must be \"Name: value\"");
      std::string_view hname = trim_ows(value.substr(0, colon));
      std::string_view hvalue = trim_ows(value.substr(colon + 1));
      if (!valid_header_name(hname)) return fail(key, json_quote(hname) + " is not a header name");
      if (hvalue.find_first_of("\r\n") != std::string_view::npos) {
        return fail(key, "value contains a line break");
      }
      if (reserved_header(hname)) return fail(key, json_quote(hname) + " is set by hookd");
      spec.headers.emplace_back(std::string(hname), std::string(hvalue));
    } else if (key == "ca" || key == "cert" || key == "key") {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(std::filesystem::path(value), ec)) {
        return fail(key, "cannot read file " + json_quote(value));
      }
      (key == "ca" ? spec.ca : key == "cert" ? spec.cert : spec.key) = std::string(value);
    } else if (key == "timeout") {
      auto d = parse_span(value);
      if (!d) return fail(key, d.error().message);
      if (d->count() <= 0) return fail(key, "must be positive");
      spec.timeout = *d;
    } else if (key == "connections") {
      std::uint64_t n = 0;
      if (!parse_uint(value, n) || n < 1 || n > 1024) return fail(key, "must be 1..1024");
      spec.connections = n;
    } else if (key == "batch") {
      std::uint64_t n = 0;
      if (!parse_uint(value, n) || n < 1 || n > 10000) return fail(key, "must be 1..10000");
      spec.batch = n;
      batch_given = true;
    } else if (key == "gzip") {
      if (value == "on" || value == "true") {
        spec.gzip = true;
      } else if (value == "off" || value == "false") {
        spec.gzip = false;
      } else {
        return fail(key, "must be on or off");
      }
    } else {
      return make_error(who + ": unknown key " + json_quote(key));
    }
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

std::string redact_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || !parsed->has_userinfo()) return std::string(url);
  boost::urls::url copy(*parsed);
  copy.remove_userinfo();
  return std::string(copy.buffer());
}

// ---------------------------------------------------------------------------
// Requests

namespace {

OutgoingRequest webhook_request(const EndpointSpec& spec, std::string_view id, std::string body,
                                std::int64_t now_unix, std::string_view user_agent,
                                const std::optional<std::string>& basic_auth) {
  OutgoingRequest req;
  req.headers.reserve(6 + spec.headers.size());
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("User-Agent", std::string(user_agent));
  if (basic_auth) req.headers.emplace_back("Authorization", *basic_auth);
  req.headers.emplace_back("webhook-id", std::string(id));
  req.headers.emplace_back("webhook-timestamp", std::to_string(now_unix));
  if (spec.secret) {
    req.headers.emplace_back("webhook-signature", spec.secret->sign(id, now_unix, body));
  }
  for (const auto& h : spec.headers)
    set_header(req.headers, h.first, h.second);
  req.body = std::move(body);
  return req;
}

std::vector<std::pair<std::string, std::string>> batch_headers(
    const EndpointSpec& spec, std::string_view user_agent,
    const std::optional<std::string>& basic_auth) {
  std::vector<std::pair<std::string, std::string>> headers;
  bool splunk = spec.format == EndpointFormat::splunk_hec;
  headers.emplace_back("Content-Type", splunk ? "application/json" : "application/x-ndjson");
  headers.emplace_back("User-Agent", std::string(user_agent));
  if (basic_auth) headers.emplace_back("Authorization", *basic_auth);
  if (splunk && !spec.token.empty()) set_header(headers, "Authorization", "Splunk " + spec.token);
  if (spec.gzip) headers.emplace_back("Content-Encoding", "gzip");
  for (const auto& h : spec.headers)
    set_header(headers, h.first, h.second);
  return headers;
}

}  // namespace

OutgoingRequest make_webhook_request(const EndpointSpec& spec, const Event& event,
                                     std::int64_t now_unix, std::string_view user_agent) {
  return webhook_request(spec, event.id, to_json(event), now_unix, user_agent,
                         basic_auth_from_url(spec.url));
}

std::string splunk_hec_body(const std::vector<Event>& events, std::string_view host) {
  std::string out;
  std::string host_q = json_quote(host);
  for (const auto& e : events)
    append_splunk_event(out, to_json(e), event_time_ms(e), e.type, host_q);
  return out;
}

std::string ndjson_body(const std::vector<Event>& events) {
  std::string out;
  for (const auto& e : events) {
    out += to_json(e);
    out += '\n';
  }
  return out;
}

OutgoingRequest make_batch_request(const EndpointSpec& spec, const std::vector<Event>& events,
                                   std::string_view host, std::string_view user_agent) {
  OutgoingRequest req;
  req.body = spec.format == EndpointFormat::splunk_hec ? splunk_hec_body(events, host)
                                                       : ndjson_body(events);
  if (spec.gzip) req.body = gzip_compress(req.body);
  req.headers = batch_headers(spec, user_agent, basic_auth_from_url(spec.url));
  return req;
}

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  std::size_t produced = out.size() - zs.avail_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return {};
  out.resize(produced);
  return out;
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::int64_t now_unix) {
  value = trim_ows(value);
  std::uint64_t seconds = 0;
  if (parse_uint(value, seconds)) {
    return milliseconds(
        static_cast<std::int64_t>(std::min<std::uint64_t>(seconds, 366ull * 86400)) * 1000);
  }
  auto at = parse_http_date(value);
  if (!at) return std::nullopt;
  return milliseconds(std::max<std::int64_t>(0, *at - now_unix) * 1000);
}

milliseconds retry_delay(milliseconds scheduled, double jitter, double random01,
                         std::optional<milliseconds> retry_after, bool throttled,
                         milliseconds min_throttled) {
  random01 = std::clamp(random01, 0.0, 1.0);
  jitter = std::clamp(jitter, 0.0, 1.0);
  double factor = 1.0 + jitter * (2.0 * random01 - 1.0);
  milliseconds delay(
      static_cast<std::int64_t>(std::llround(static_cast<double>(scheduled.count()) * factor)));
  if (retry_after) delay = std::clamp(*retry_after, delay, delay * 2);
  if (throttled) delay = std::max(delay, min_throttled);
  return delay;
}

// ---------------------------------------------------------------------------
// The engine: one state machine per endpoint, all on one io_context.

namespace {

using Clock = std::chrono::steady_clock;

enum class DeliveryState { pending, delivered, dead_letter, filtered };

const char* state_name(DeliveryState s) {
  switch (s) {
    case DeliveryState::pending:
      return "pending";
    case DeliveryState::delivered:
      return "delivered";
    case DeliveryState::dead_letter:
      return "dead_letter";
    case DeliveryState::filtered:
      return "filtered";
  }
  return "pending";
}

// A thread for the durable writes (dead letters, endpoint state) that a
// reactor must never do itself. Jobs run in order; stop() runs what is queued.
class Worker {
 public:
  Worker() : thread_([this] { run(); }) {}
  ~Worker() { stop(); }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopped_) return;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stopped_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;  // last: starts once the rest is constructed
};

// One event as the engine carries it: the JSON body is built once.
struct Item {
  std::uint64_t seq = 0;  // journal position; 0 for replays (already behind the cursor)
  std::string id;
  std::string type;
  std::string json;  // to_json(event)
  std::int64_t time_ms = 0;
  std::int64_t arrival_ms = 0;
  bool from_dead_letters = false;
};

Item make_item(const StoredEvent& stored, bool track) {
  Item it;
  it.seq = track ? stored.seq : 0;
  it.id = stored.event.id;
  it.type = stored.event.type;
  it.json = to_json(stored.event);
  it.time_ms = event_time_ms(stored.event);
  it.arrival_ms = stored.event.arrival_unix_ms;
  return it;
}

// What one request carries: one event (webhook) or a batch, retried as a unit.
struct Unit {
  std::vector<Item> items;
  std::size_t failures = 0;  // failed attempts counted against the schedule
  std::string body;          // batched formats: built once, the same on every retry
  bool body_built = false;
};
using UnitPtr = std::shared_ptr<Unit>;

struct AttemptRecord {
  std::int64_t at_ms = 0;
  int status = 0;  // 0: no response
  std::string error;
  std::int64_t duration_ms = 0;
};

struct EndpointRecord {
  bool touched = false;
  DeliveryState state = DeliveryState::pending;
  std::deque<AttemptRecord> attempts;
};

struct EventRecord {
  std::vector<EndpointRecord> endpoints;
};

// Scanning the journal again for POST .../replay {"since": ...}.
struct SinceScan {
  std::uint64_t after = 0;  // last seq looked at
  std::uint64_t end = 0;    // stop after this seq (the endpoint's read position)
  std::int64_t since_ms = 0;
};

// Read by the backlog gauge at scrape time, from any thread.
struct LiveCounts {
  std::atomic<std::uint64_t> cursor{0};
  std::atomic<std::uint64_t> replay{0};  // replayed events queued or held
};

struct Endpoint {
  std::size_t index = 0;
  EndpointSpec spec;
  std::string consumer;  // "endpoint:<name>"
  std::string shown_url;
  std::optional<std::string> basic_auth;
  std::filesystem::path dead_path;
  std::filesystem::path state_path;
  std::shared_ptr<HttpsClient> client;
  std::unique_ptr<boost::asio::steady_timer> timer;
  Clock::time_point timer_due = Clock::time_point::max();

  // Journal progress: the cursor is the highest seq below which every event
  // is finished (delivered, dead-lettered or filtered).
  std::uint64_t read_seq = 0;
  std::uint64_t committed = 0;
  std::set<std::uint64_t> unfinished;
  std::shared_ptr<LiveCounts> live = std::make_shared<LiveCounts>();

  std::deque<Item> fresh;                             // not yet sent
  std::deque<UnitPtr> ready;                          // retries that are due
  std::multimap<Clock::time_point, UnitPtr> waiting;  // retries not yet due
  std::size_t held =
      0;  // events in memory: fresh + ready + waiting + in flight + being dead-lettered
  std::size_t in_flight_requests = 0;
  std::size_t in_flight_events = 0;
  bool dispatching = false;
  bool more_posted = false;

  std::deque<Item> replay_queue;  // replayed, waiting for room in the window
  std::optional<SinceScan> since;
  std::unordered_set<std::string> replaying;  // dead letters currently replayed
  std::size_t dead_letter_writes = 0;         // appends handed to the worker, not yet done

  bool disabled = false;
  std::string disabled_reason;
  std::string disabled_at;
  bool failing = false;
  bool read_error_logged = false;
  std::string last_error;
  int last_status = 0;
  std::uint64_t delivered_total = 0;
  std::uint64_t failed_total = 0;

  Counter* outcome_success = nullptr;
  Counter* outcome_http_error = nullptr;
  Counter* outcome_transport_error = nullptr;
  Counter* outcome_throttled = nullptr;
  Counter* delivered_events = nullptr;
  Histogram* latency = nullptr;
  Gauge* dead_letters_gauge = nullptr;
  Gauge* disabled_gauge = nullptr;
  Gauge* in_flight_gauge = nullptr;
  Gauge* window_gauge = nullptr;
};

std::string dead_letter_line(const Item& it, std::size_t attempts, std::string_view error) {
  json::object o;
  o["id"] = it.id;
  o["type"] = it.type;
  o["seq"] = it.seq;
  o["arrival_unix_ms"] = it.arrival_ms;
  o["time_ms"] = it.time_ms;
  o["dead_at"] = format_rfc3339(now_unix_ms());
  o["attempts"] = attempts;
  o["last_error"] = error;
  o["event"] = it.json;  // as a string: replays send exactly these bytes
  return json::serialize(o) + "\n";
}

std::string tombstone_line(std::string_view id) {
  json::object o;
  o["removed"] = id;
  return json::serialize(o) + "\n";
}

// The live dead letters of one file, oldest first (a later record of the
// same id replaces an earlier one; {"removed":id} deletes it).
struct DeadLetterFile {
  std::vector<Item> live;
  std::size_t stale_lines = 0;  // removed, replaced or torn: worth compacting
};

DeadLetterFile parse_dead_letters(std::string_view text) {
  DeadLetterFile out;
  std::unordered_map<std::string, std::size_t> where;
  std::vector<std::optional<Item>> slots;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object() || nl == std::string_view::npos) {
      ++out.stale_lines;  // a torn tail or damage: the record never became durable
      continue;
    }
    const auto& o = v.as_object();
    if (auto* removed = o.if_contains("removed"); removed && removed->is_string()) {
      ++out.stale_lines;
      auto found = where.find(std::string(removed->as_string()));
      if (found != where.end()) {
        slots[found->second].reset();
        ++out.stale_lines;
        where.erase(found);
      }
      continue;
    }
    auto* id = o.if_contains("id");
    auto* event = o.if_contains("event");
    if (!id || !id->is_string() || !event || !event->is_string()) {
      ++out.stale_lines;
      continue;
    }
    Item it;
    it.id = std::string(id->as_string());
    it.json = std::string(event->as_string());
    if (auto* t = o.if_contains("type"); t && t->is_string()) it.type = std::string(t->as_string());
    if (auto* t = o.if_contains("time_ms"); t && t->is_int64()) it.time_ms = t->as_int64();
    if (auto* t = o.if_contains("arrival_unix_ms"); t && t->is_int64()) {
      it.arrival_ms = t->as_int64();
    }
    it.from_dead_letters = true;
    auto found = where.find(it.id);
    if (found != where.end()) {
      slots[found->second] = std::move(it);
      ++out.stale_lines;
    } else {
      where.emplace(it.id, slots.size());
      slots.push_back(std::move(it));
    }
  }
  for (auto& s : slots) {
    if (s) out.live.push_back(std::move(*s));
  }
  return out;
}

std::string dead_letters_text(const std::vector<Item>& items) {
  std::string out;
  for (const auto& it : items) {
    json::object o;
    o["id"] = it.id;
    o["type"] = it.type;
    o["arrival_unix_ms"] = it.arrival_ms;
    o["time_ms"] = it.time_ms;
    o["event"] = it.json;
    out += json::serialize(o);
    out += '\n';
  }
  return out;
}

constexpr std::size_t kReadChunk = 512;    // events per journal read
constexpr std::size_t kReadBudget = 4096;  // events looked at per pump, then yield
constexpr auto kCommitDelay = std::chrono::milliseconds(50);
constexpr auto kTick = std::chrono::seconds(1);

}  // namespace

struct Delivery::Impl : std::enable_shared_from_this<Delivery::Impl> {
  Impl(boost::asio::io_context& io_context, Journal& j, DeliveryOptions opts)
      : io(io_context), journal(j), options(std::move(opts)) {
    user_agent =
        options.user_agent.empty() ? std::string("hookd/") + HOOKD_VERSION : options.user_agent;
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') std::strcpy(name, "hookd");
    host_quoted = json_quote(name);
    if (options.status_events == 0) options.status_events = 1;
    if (options.window == 0) options.window = 1;
    for (std::size_t i = 0; i < options.endpoints.size(); ++i) {
      auto ep = std::make_unique<Endpoint>();
      ep->index = i;
      ep->spec = options.endpoints[i];
      ep->consumer = "endpoint:" + ep->spec.name;
      ep->shown_url = redact_url(ep->spec.url);
      ep->basic_auth = basic_auth_from_url(ep->spec.url);
      ep->dead_path = options.dir / (ep->spec.name + ".dead-letters.jsonl");
      ep->state_path = options.dir / (ep->spec.name + ".state.json");
      endpoints.push_back(std::move(ep));
    }
    dead_ids.resize(endpoints.size());
    rng.seed(std::random_device{}());
  }

  boost::asio::io_context& io;
  Journal& journal;
  DeliveryOptions options;
  std::string user_agent;
  std::string host_quoted;
  std::vector<std::unique_ptr<Endpoint>> endpoints;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<boost::asio::steady_timer> tick_timer;
  std::unique_ptr<boost::asio::steady_timer> commit_timer;
  bool commit_armed = false;
  bool started = false;
  bool stopping = false;
  std::shared_ptr<std::atomic<bool>> pump_posted = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::mt19937_64 rng;

  // Guards records, record_order and every endpoint's dead_ids: read by
  // status_json from any reactor.
  mutable std::mutex status_mutex;
  std::unordered_map<std::string, EventRecord> records;
  std::deque<std::string> record_order;
  std::vector<std::unordered_set<std::string>> dead_ids;

  Endpoint* find(std::string_view name) {
    for (auto& ep : endpoints) {
      if (ep->spec.name == name) return ep.get();
    }
    return nullptr;
  }

  // ---- start-up (blocking file I/O is fine here) ----

  Status start() {
    if (started) return Ok{};
    std::set<std::string> names;
    for (auto& ep : endpoints) {
      if (!names.insert(ep->spec.name).second) {
        return make_error("endpoint " + json_quote(ep->spec.name) + ": key \"name\": given twice");
      }
    }
    if (!endpoints.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(options.dir, ec);
      if (ec) return make_error("delivery dir " + options.dir.string() + ": " + ec.message());
    }
    for (auto& ep : endpoints) {
      HttpsClientOptions co;
      co.url = ep->shown_url;  // credentials travel as an Authorization header
      co.ca_file = ep->spec.ca;
      co.cert_file = ep->spec.cert;
      co.key_file = ep->spec.key;
      co.timeout = ep->spec.timeout;
      co.connections = ep->spec.connections;
      co.metrics_label = ep->spec.name;
      auto client = HttpsClient::create(io, co);
      if (!client)
        return make_error("endpoint " + json_quote(ep->spec.name) + ": " + client.error().message);
      ep->client = std::move(client.value());
      ep->timer = std::make_unique<boost::asio::steady_timer>(io);
      load_state(*ep);
      if (Status st = load_dead_letters(*ep); !st) return st;
      std::uint64_t cursor = journal.register_consumer(ep->consumer);
      ep->read_seq = ep->committed = cursor;
      ep->live->cursor = cursor;
      register_metrics(*ep);
      log::info("delivery endpoint", {{"endpoint", ep->spec.name},
                                      {"url", ep->shown_url},
                                      {"format", format_name(ep->spec.format)},
                                      {"cursor", cursor},
                                      {"disabled", ep->disabled}});
    }
    started = true;
    if (endpoints.empty()) return Ok{};
    worker = std::make_unique<Worker>();
    tick_timer = std::make_unique<boost::asio::steady_timer>(io);
    commit_timer = std::make_unique<boost::asio::steady_timer>(io);
    *last_seq = journal.stats().last_seq;

    std::weak_ptr<Impl> weak = weak_from_this();
    auto flag = pump_posted;
    auto last = last_seq;
    boost::asio::io_context* ctx = &io;
    journal.on_durable([weak, flag, last, ctx](std::uint64_t seq) {
      std::uint64_t cur = last->load();
      while (seq > cur && !last->compare_exchange_weak(cur, seq)) {
      }
      if (weak.expired() || flag->exchange(true)) return;
      boost::asio::post(*ctx, [weak, flag] {
        flag->store(false);
        if (auto self = weak.lock()) self->pump_all();
      });
    });
    arm_tick();
    boost::asio::post(io, [weak] {
      if (auto self = weak.lock()) self->pump_all();
    });
    return Ok{};
  }

  void load_state(Endpoint& ep) {
    auto text = read_whole_file(ep.state_path);
    if (!text) return;
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec || !v.is_object()) {
      log::warn("delivery: unreadable endpoint state, ignored",
                {{"endpoint", ep.spec.name}, {"file", ep.state_path.string()}});
      return;
    }
    const auto& o = v.as_object();
    if (auto* d = o.if_contains("disabled"); d && d->is_bool()) ep.disabled = d->as_bool();
    if (auto* r = o.if_contains("reason"); r && r->is_string()) {
      ep.disabled_reason = std::string(r->as_string());
    }
    if (auto* a = o.if_contains("at"); a && a->is_string())
      ep.disabled_at = std::string(a->as_string());
  }

  Status load_dead_letters(Endpoint& ep) {
    auto text = read_whole_file(ep.dead_path);
    if (!text) return Ok{};
    DeadLetterFile file = parse_dead_letters(*text);
    if (file.stale_lines > 0) {
      // Compact at start-up, when blocking is allowed: drops removed records and a torn tail.
      if (Status st = write_atomic(ep.dead_path, dead_letters_text(file.live)); !st) {
        return make_error("endpoint " + json_quote(ep.spec.name) +
                          ": dead letters: " + st.error().message);
      }
    }
    std::lock_guard<std::mutex> lock(status_mutex);
    for (auto& it : file.live)
      dead_ids[ep.index].insert(it.id);
    return Ok{};
  }

  void register_metrics(Endpoint& ep) {
    auto& m = metrics();
    const std::string& n = ep.spec.name;
    const char* attempts_help = "Delivery attempts (HTTP requests) by outcome";
    ep.outcome_success = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                    {{"endpoint", n}, {"outcome", "success"}});
    ep.outcome_http_error = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                       {{"endpoint", n}, {"outcome", "http_error"}});
    ep.outcome_transport_error = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                            {{"endpoint", n}, {"outcome", "transport_error"}});
    ep.outcome_throttled = &m.counter("hookd_delivery_attempts_total", attempts_help,
                                      {{"endpoint", n}, {"outcome", "throttled"}});
    Labels l{{"endpoint", n}};
    ep.delivered_events =
        &m.counter("hookd_delivery_delivered_events_total", "Events delivered to the endpoint", l);
    ep.latency =
        &m.histogram("hookd_delivery_latency_seconds", "From acceptance to delivery, per event",
                     duration_buckets_seconds(), l);
    ep.dead_letters_gauge =
        &m.gauge("hookd_delivery_dead_letters", "Events in the endpoint's dead-letter list", l);
    ep.disabled_gauge = &m.gauge("hookd_delivery_disabled",
                                 "1 while the endpoint is disabled (410 Gone) until re-enabled", l);
    ep.in_flight_gauge =
        &m.gauge("hookd_delivery_in_flight_events", "Events in requests awaiting a response", l);
    ep.window_gauge = &m.gauge("hookd_delivery_window_events",
                               "Events held in memory (limit: --delivery-window)", l);
    auto live = ep.live;
    auto last = last_seq;
    m.gauge_callback("hookd_delivery_backlog",
                     "Events not yet finished: journal after the cursor, plus replays", l,
                     [live, last] {
                       std::uint64_t l = last->load(), c = live->cursor.load();
                       return static_cast<double>((l > c ? l - c : 0) + live->replay.load());
                     });
    {
      std::lock_guard<std::mutex> lock(status_mutex);
      ep.dead_letters_gauge->set(static_cast<double>(dead_ids[ep.index].size()));
    }
    ep.disabled_gauge->set(ep.disabled ? 1 : 0);
  }

  // ---- the loop ----

  void arm_tick() {
    std::weak_ptr<Impl> weak = weak_from_this();
    tick_timer->expires_after(kTick);
    tick_timer->async_wait([weak](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (!self || self->stopping) return;
      // A safety net for missed wake-ups, and a retry for journal read errors.
      std::uint64_t seq = self->journal.stats().last_seq;
      std::uint64_t cur = self->last_seq->load();
      if (seq > cur) self->last_seq->store(seq);
      self->pump_all();
      self->arm_tick();
    });
  }

  void pump_all() {
    for (auto& ep : endpoints)
      pump(*ep);
  }

  void pump(Endpoint& ep) {
    if (stopping || !started) return;
    bool more = fill(ep);
    dispatch(ep);
    advance_cursor(ep);
    ep.window_gauge->set(static_cast<double>(ep.held));
    if (more && !ep.more_posted) {
      // Many filtered events in a row: yield to other work, then go on.
      ep.more_posted = true;
      std::weak_ptr<Impl> weak = weak_from_this();
      Endpoint* e = &ep;
      boost::asio::post(io, [weak, e] {
        if (auto self = weak.lock()) {
          e->more_posted = false;
          self->pump(*e);
        }
      });
    }
  }

  void touch(const std::string& id, std::size_t endpoint,
             const std::function<void(EndpointRecord&)>& change) {
    std::lock_guard<std::mutex> lock(status_mutex);
    auto it = records.find(id);
    if (it == records.end()) {
      while (records.size() >= options.status_events && !record_order.empty()) {
        records.erase(record_order.front());
        record_order.pop_front();
      }
      it = records.emplace(id, EventRecord{}).first;
      it->second.endpoints.resize(endpoints.size());
      record_order.push_back(id);
    }
    EndpointRecord& rec = it->second.endpoints[endpoint];
    rec.touched = true;
    change(rec);
  }

  void set_state(const std::string& id, std::size_t endpoint, DeliveryState state) {
    touch(id, endpoint, [state](EndpointRecord& r) { r.state = state; });
  }

  // Moves events into the window: replays first, then the journal after
  // read_seq. Returns true when it stopped with more to look at.
  bool fill(Endpoint& ep) {
    const std::size_t window = options.window;
    while (ep.held < window && !ep.replay_queue.empty()) {
      ep.fresh.push_back(std::move(ep.replay_queue.front()));
      ep.replay_queue.pop_front();
      ++ep.held;
    }
    std::size_t budget = kReadBudget;
    while (ep.since && ep.held < window && budget > 0) {
      SinceScan& scan = *ep.since;
      if (scan.after >= scan.end) {
        ep.since.reset();
        break;
      }
      auto chunk = journal.read(scan.after, std::min({kReadChunk, window - ep.held, budget}));
      if (!chunk || chunk->empty()) {
        ep.since.reset();
        break;
      }
      for (auto& stored : *chunk) {
        if (stored.seq > scan.end) {
          scan.after = scan.end;
          break;
        }
        scan.after = stored.seq;
        --budget;
        std::int64_t t = stored.event.arrival_unix_ms != 0 ? stored.event.arrival_unix_ms
                                                           : event_time_ms(stored.event);
        // Events still unfinished are being delivered anyway.
        if (t < scan.since_ms || !ep.spec.accepts(stored.event.type) ||
            ep.unfinished.count(stored.seq) != 0) {
          continue;
        }
        ep.fresh.push_back(make_item(stored, false));
        ep.live->replay += 1;
        ++ep.held;
        set_state(stored.event.id, ep.index, DeliveryState::pending);
      }
    }
    while (ep.held < window && budget > 0) {
      auto chunk = journal.read(ep.read_seq, std::min({kReadChunk, window - ep.held, budget}));
      if (!chunk) {
        if (!ep.read_error_logged) {
          log::error("delivery: journal read failed",
                     {{"endpoint", ep.spec.name}, {"error", chunk.error().message}});
          ep.read_error_logged = true;
        }
        break;
      }
      ep.read_error_logged = false;
      if (chunk->empty()) break;
      for (auto& stored : *chunk) {
        if (stored.seq <= ep.read_seq) continue;
        ep.read_seq = stored.seq;
        if (budget > 0) --budget;
        if (!ep.spec.accepts(stored.event.type)) {
          set_state(stored.event.id, ep.index, DeliveryState::filtered);
          continue;
        }
        ep.unfinished.insert(stored.seq);
        ep.fresh.push_back(make_item(stored, true));
        ++ep.held;
        set_state(stored.event.id, ep.index, DeliveryState::pending);
      }
    }
    return budget == 0;
  }

  void dispatch(Endpoint& ep) {
    if (ep.disabled || stopping || !ep.client) return;
    ep.dispatching = true;
    while (ep.in_flight_requests < ep.spec.connections) {
      UnitPtr unit;
      if (!ep.ready.empty()) {
        unit = std::move(ep.ready.front());
        ep.ready.pop_front();
      } else if (!ep.fresh.empty()) {
        unit = std::make_shared<Unit>();
        std::size_t n = ep.spec.format == EndpointFormat::webhook ? 1 : ep.spec.batch;
        unit->items.reserve(std::min(n, ep.fresh.size()));
        while (n-- > 0 && !ep.fresh.empty()) {
          unit->items.push_back(std::move(ep.fresh.front()));
          ep.fresh.pop_front();
        }
      } else {
        break;
      }
      send(ep, std::move(unit));
    }
    ep.dispatching = false;
  }

  void send(Endpoint& ep, UnitPtr unit) {
    const std::int64_t started_ms = now_unix_ms();
    OutgoingRequest req;
    if (ep.spec.format == EndpointFormat::webhook) {
      const Item& it = unit->items.front();
      req = webhook_request(ep.spec, it.id, it.json, started_ms / 1000, user_agent, ep.basic_auth);
    } else {
      if (!unit->body_built) {
        std::string body;
        for (const auto& it : unit->items) {
          if (ep.spec.format == EndpointFormat::splunk_hec) {
            append_splunk_event(body, it.json, it.time_ms, it.type, host_quoted);
          } else {
            body += it.json;
            body += '\n';
          }
        }
        unit->body = ep.spec.gzip ? gzip_compress(body) : std::move(body);
        unit->body_built = true;
      }
      req.headers = batch_headers(ep.spec, user_agent, ep.basic_auth);
      req.body = unit->body;
    }
    ++ep.in_flight_requests;
    ep.in_flight_events += unit->items.size();
    ep.in_flight_gauge->set(static_cast<double>(ep.in_flight_events));
    const Clock::time_point t0 = Clock::now();
    std::weak_ptr<Impl> weak = weak_from_this();
    Endpoint* e = &ep;
    ep.client->send(std::move(req), [weak, e, unit, started_ms, t0](Result<IncomingResponse> r) {
      auto self = weak.lock();
      if (!self) return;
      if (e->dispatching) {
        // Completed inline: finish after the dispatch loop unwinds.
        auto shared = std::make_shared<Result<IncomingResponse>>(std::move(r));
        boost::asio::post(self->io, [weak, e, unit, started_ms, t0, shared] {
          if (auto s = weak.lock()) s->on_result(*e, unit, std::move(*shared), started_ms, t0);
        });
        return;
      }
      self->on_result(*e, unit, std::move(r), started_ms, t0);
    });
  }

  void on_result(Endpoint& ep, const UnitPtr& unit, Result<IncomingResponse> r,
                 std::int64_t started_ms, Clock::time_point t0) {
    --ep.in_flight_requests;
    ep.in_flight_events -= unit->items.size();
    ep.in_flight_gauge->set(static_cast<double>(ep.in_flight_events));
    // Abandoned on shutdown: the cursor has not passed these events, so the
    // next start sends them again.
    if (stopping) return;

    const std::int64_t duration_ms =
        std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
    int status = 0;
    std::string error;
    bool throttled = false;
    std::optional<milliseconds> retry_after;
    if (!r) {
      error = r.error().message;
      throttled = error.rfind("timeout:", 0) == 0;
      (throttled ? ep.outcome_throttled : ep.outcome_transport_error)->inc();
    } else {
      status = r->status;
      if (status >= 200 && status < 300) {
        ep.outcome_success->inc();
      } else {
        throttled = status == 429 || status == 502 || status == 504;
        (throttled ? ep.outcome_throttled : ep.outcome_http_error)->inc();
        std::string ra = r->header("retry-after");
        if (!ra.empty()) retry_after = parse_retry_after(ra, now_unix_ms() / 1000);
      }
    }
    const bool success = status >= 200 && status < 300;
    for (const auto& it : unit->items) {
      touch(it.id, ep.index, [&](EndpointRecord& rec) {
        rec.attempts.push_back(AttemptRecord{started_ms, status, error, duration_ms});
        while (rec.attempts.size() > std::max<std::size_t>(options.max_attempts_shown, 1)) {
          rec.attempts.pop_front();
        }
      });
    }
    ep.last_status = status;
    if (success) {
      if (ep.failing) {
        log::info("delivery: endpoint recovered", {{"endpoint", ep.spec.name}, {"status", status}});
        ep.failing = false;
      }
      on_delivered(ep, *unit);
      pump(ep);
      return;
    }

    ++ep.failed_total;
    ep.last_error = error.empty() ? "HTTP " + std::to_string(status) : error;
    if (!ep.failing) {
      log::warn(
          "delivery: endpoint failing",
          {{"endpoint", ep.spec.name}, {"error", ep.last_error}, {"event", unit->items[0].id}});
      ep.failing = true;
    } else {
      log::debug(
          "delivery: attempt failed",
          {{"endpoint", ep.spec.name}, {"error", ep.last_error}, {"event", unit->items[0].id}});
    }
    if (status == 410) {
      // Not counted against the schedule: the events wait for /enable.
      set_disabled(ep, true, "410 Gone from the endpoint");
      ep.ready.push_front(unit);
      pump(ep);
      return;
    }
    ++unit->failures;
    const auto& schedule = options.retry_schedule;
    if (unit->failures > schedule.size()) {
      dead_letter(ep, unit, ep.last_error);
    } else {
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      milliseconds delay = retry_delay(schedule[unit->failures - 1], options.jitter, uniform(rng),
                                       retry_after, throttled, options.min_backoff_throttled);
      ep.waiting.emplace(Clock::now() + delay, unit);
      arm_timer(ep);
    }
    pump(ep);
  }

  void on_delivered(Endpoint& ep, Unit& unit) {
    const std::int64_t now = now_unix_ms();
    for (const auto& it : unit.items) {
      if (it.seq != 0) {
        ep.unfinished.erase(it.seq);
      } else {
        ep.live->replay -= 1;
      }
      if (it.from_dead_letters) ep.replaying.erase(it.id);
      if (it.arrival_ms > 0 && now >= it.arrival_ms) {
        ep.latency->observe(static_cast<double>(now - it.arrival_ms) / 1000.0);
      }
      set_state(it.id, ep.index, DeliveryState::delivered);
    }
    const std::size_t n = unit.items.size();
    ep.held -= n;
    ep.delivered_total += n;
    ep.delivered_events->inc(static_cast<double>(n));

    // A delivered event leaves the dead-letter list, however it was re-sent.
    std::string tombstones;
    std::size_t left = 0;
    {
      std::lock_guard<std::mutex> lock(status_mutex);
      auto& ids = dead_ids[ep.index];
      if (!ids.empty()) {
        for (const auto& it : unit.items) {
          if (ids.erase(it.id) != 0) tombstones += tombstone_line(it.id);
        }
      }
      left = ids.size();
    }
    if (!tombstones.empty()) {
      ep.dead_letters_gauge->set(static_cast<double>(left));
      // An append still on its way counts as a dead letter: never truncate under it.
      left += ep.dead_letter_writes;
      // Losing a tombstone to a crash only means one more replay.
      std::filesystem::path path = ep.dead_path;
      std::string name = ep.spec.name;
      worker->post([path, name, tombstones = std::move(tombstones), left] {
        Status st = left == 0 ? write_atomic(path, "") : append_durable(path, tombstones);
        if (!st) {
          log::error("delivery: dead-letter update failed",
                     {{"endpoint", name}, {"error", st.error().message}});
        }
      });
    }
    advance_cursor(ep);
  }

  void dead_letter(Endpoint& ep, UnitPtr unit, const std::string& reason) {
    std::string lines;
    for (const auto& it : unit->items) {
      if (!it.from_dead_letters) lines += dead_letter_line(it, unit->failures, reason);
    }
    log::warn("delivery: attempts exhausted, dead-lettered", {{"endpoint", ep.spec.name},
                                                              {"events", unit->items.size()},
                                                              {"event", unit->items[0].id},
                                                              {"attempts", unit->failures},
                                                              {"error", reason}});
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    Endpoint* e = &ep;
    std::filesystem::path path = ep.dead_path;
    ++ep.dead_letter_writes;
    worker->post([weak, ctx, e, unit, path, lines = std::move(lines)] {
      Status st = lines.empty() ? Status(Ok{}) : append_durable(path, lines);
      boost::asio::post(*ctx, [weak, e, unit, st] {
        if (auto self = weak.lock()) self->on_dead_lettered(*e, unit, st);
      });
    });
  }

  // Runs once the dead letters are on disk: only now may the cursor pass them.
  void on_dead_lettered(Endpoint& ep, const UnitPtr& unit, const Status& st) {
    --ep.dead_letter_writes;
    if (!st) {
      log::error("delivery: dead-letter write failed; will retry",
                 {{"endpoint", ep.spec.name}, {"error", st.error().message}});
      if (stopping) return;
      milliseconds later =
          options.retry_schedule.empty() ? milliseconds(5000) : options.retry_schedule.back();
      ep.waiting.emplace(Clock::now() + std::max(later, milliseconds(1000)), unit);
      arm_timer(ep);
      return;
    }
    std::size_t total = 0;
    {
      std::lock_guard<std::mutex> lock(status_mutex);
      auto& ids = dead_ids[ep.index];
      for (const auto& it : unit->items)
        ids.insert(it.id);
      total = ids.size();
    }
    for (const auto& it : unit->items) {
      if (it.seq != 0) {
        ep.unfinished.erase(it.seq);
      } else {
        ep.live->replay -= 1;
      }
      ep.replaying.erase(it.id);
      set_state(it.id, ep.index, DeliveryState::dead_letter);
    }
    ep.held -= unit->items.size();
    ep.dead_letters_gauge->set(static_cast<double>(total));
    advance_cursor(ep);
    pump(ep);
  }

  void arm_timer(Endpoint& ep) {
    if (ep.waiting.empty() || stopping) return;
    Clock::time_point due = ep.waiting.begin()->first;
    if (due >= ep.timer_due) return;
    ep.timer_due = due;
    ep.timer->expires_at(due);
    std::weak_ptr<Impl> weak = weak_from_this();
    Endpoint* e = &ep;
    ep.timer->async_wait([weak, e](boost::system::error_code ec) {
      if (ec) return;  // re-armed for an earlier retry, or stopping
      if (auto self = weak.lock()) self->on_timer(*e);
    });
  }

  void on_timer(Endpoint& ep) {
    ep.timer_due = Clock::time_point::max();
    if (stopping) return;
    const Clock::time_point now = Clock::now();
    while (!ep.waiting.empty() && ep.waiting.begin()->first <= now) {
      ep.ready.push_back(std::move(ep.waiting.begin()->second));
      ep.waiting.erase(ep.waiting.begin());
    }
    arm_timer(ep);
    pump(ep);
  }

  void advance_cursor(Endpoint& ep) {
    std::uint64_t c = ep.unfinished.empty() ? ep.read_seq : *ep.unfinished.begin() - 1;
    if (c > ep.live->cursor.load()) {
      ep.live->cursor = c;
      schedule_commit();
    }
  }

  // Cursor commits are batched: at most one per kCommitDelay.
  void schedule_commit() {
    if (commit_armed || stopping || !commit_timer) return;
    commit_armed = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    commit_timer->expires_after(kCommitDelay);
    commit_timer->async_wait([weak](boost::system::error_code) {
      if (auto self = weak.lock()) {
        self->commit_armed = false;
        self->commit_cursors();
      }
    });
  }

  void commit_cursors() {
    for (auto& ep : endpoints) {
      std::uint64_t c = ep->live->cursor.load();
      if (c > ep->committed) {
        journal.commit(ep->consumer, c);
        ep->committed = c;
      }
    }
  }

  void set_disabled(Endpoint& ep, bool disabled, std::string reason) {
    if (ep.disabled == disabled) return;
    ep.disabled = disabled;
    ep.disabled_reason = disabled ? std::move(reason) : std::string();
    ep.disabled_at = disabled ? format_rfc3339(now_unix_ms()) : std::string();
    ep.disabled_gauge->set(disabled ? 1 : 0);
    if (disabled) {
      log::warn("delivery: endpoint disabled until POST /v1/endpoints/{name}/enable",
                {{"endpoint", ep.spec.name}, {"reason", ep.disabled_reason}});
    } else {
      log::info("delivery: endpoint enabled", {{"endpoint", ep.spec.name}});
    }
    json::object o;
    o["disabled"] = disabled;
    o["reason"] = ep.disabled_reason;
    o["at"] = ep.disabled_at;
    std::string text = json::serialize(o) + "\n";
    std::filesystem::path path = ep.state_path;
    std::string name = ep.spec.name;
    worker->post([path, name, text] {
      Status st = write_atomic(path, text);
      if (!st)
        log::error("delivery: endpoint state not saved",
                   {{"endpoint", name}, {"error", st.error().message}});
    });
  }

  void stop(std::function<void()> done) {
    if (stopping || !started || !worker) {
      stopping = true;
      done();
      return;
    }
    stopping = true;
    if (tick_timer) tick_timer->cancel();
    if (commit_timer) commit_timer->cancel();
    for (auto& ep : endpoints) {
      if (ep->timer) ep->timer->cancel();
      if (ep->client) ep->client->close();
    }
    commit_cursors();
    // Dead letters already handed to the worker finish first; their cursor
    // moves are then committed before `done`.
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    worker->post([weak, ctx, done = std::move(done)]() mutable {
      boost::asio::post(*ctx, [weak, done = std::move(done)] {
        if (auto self = weak.lock()) self->commit_cursors();
        done();
      });
    });
  }

  // ---- admin routes ----

  bool authorize(const HttpRequest& req, const Responder& respond) const {
    if (options.admin_token.empty()) {
      respond(HttpResponse::error(
          403, "admin routes are off: start hookd with --admin-token to use /v1/endpoints"));
      return false;
    }
    std::string_view h = trim_ows(req.header("authorization"));
    std::string_view scheme = h.substr(0, std::min<std::size_t>(h.size(), 7));
    std::string_view token = h.size() > 7 ? trim_ows(h.substr(7)) : std::string_view();
    bool ok = ascii_iequals(scheme, "bearer ") && token.size() == options.admin_token.size() &&
              CRYPTO_memcmp(token.data(), options.admin_token.data(), token.size()) == 0;
    if (!ok) {
      HttpResponse r = HttpResponse::error(401, "missing or wrong admin bearer token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hookd\"");
      respond(std::move(r));
    }
    return ok;
  }

  std::string endpoints_json() const {
    json::array out;
    const std::uint64_t last = std::max(last_seq->load(), journal.stats().last_seq);
    const auto steady_now = Clock::now();
    const std::int64_t wall_now = now_unix_ms();
    for (const auto& ep : endpoints) {
      json::object o;
      o["name"] = ep->spec.name;
      o["url"] = ep->shown_url;
      o["format"] = format_name(ep->spec.format);
      json::array events;
      for (const auto& e : ep->spec.events)
        events.emplace_back(e);
      o["events"] = std::move(events);
      o["state"] = ep->disabled ? "disabled" : "active";
      if (ep->disabled) {
        o["disabled_reason"] = ep->disabled_reason;
        o["disabled_at"] = ep->disabled_at;
      }
      std::uint64_t cursor = ep->live->cursor.load();
      o["cursor"] = cursor;
      o["backlog"] = (last > cursor ? last - cursor : 0) + ep->live->replay.load();
      o["in_flight"] = ep->in_flight_events;
      {
        std::lock_guard<std::mutex> lock(status_mutex);
        o["dead_letters"] = dead_ids[ep->index].size();
      }
      o["last_error"] = ep->last_error.empty() ? json::value(nullptr) : json::value(ep->last_error);
      o["last_status"] = ep->last_status == 0 ? json::value(nullptr) : json::value(ep->last_status);
      // Disabled: nothing until /enable. Work ready but no free connection: now.
      if (ep->disabled) {
        o["next_attempt_at"] = nullptr;
      } else if (!ep->ready.empty() || !ep->fresh.empty()) {
        o["next_attempt_at"] = format_rfc3339(wall_now);
      } else if (!ep->waiting.empty()) {
        auto wait =
            std::chrono::duration_cast<milliseconds>(ep->waiting.begin()->first - steady_now);
        o["next_attempt_at"] = format_rfc3339(wall_now + std::max<std::int64_t>(0, wait.count()));
      } else {
        o["next_attempt_at"] = nullptr;
      }
      o["delivered_total"] = ep->delivered_total;
      o["failed_total"] = ep->failed_total;
      out.push_back(std::move(o));
    }
    return json::serialize(out);
  }

  // POST /v1/endpoints/{name}/replay; runs on io.
  void replay(Endpoint& ep, bool dead_letters, std::optional<std::int64_t> since_ms,
              Responder respond) {
    json::object answer;
    answer["endpoint"] = ep.spec.name;
    if (since_ms) {
      JournalStats stats = journal.stats();
      SinceScan scan;
      scan.after = stats.first_seq > 0 ? stats.first_seq - 1 : 0;
      scan.end = ep.read_seq;
      scan.since_ms = *since_ms;
      ep.since = scan;
      answer["since"] = format_rfc3339(*since_ms);
      answer["from_seq"] = scan.after + 1;
      answer["to_seq"] = scan.end;
      log::info("delivery: replay since",
                {{"endpoint", ep.spec.name}, {"since", format_rfc3339(*since_ms)}});
    }
    if (!dead_letters || !worker) {
      pump(ep);
      respond(HttpResponse::json(202, json::serialize(answer)));
      return;
    }
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::io_context* ctx = &io;
    Endpoint* e = &ep;
    std::filesystem::path path = ep.dead_path;
    worker->post(
        [weak, ctx, e, path, answer = std::move(answer), respond = std::move(respond)]() mutable {
          auto text = read_whole_file(path);
          auto file = std::make_shared<DeadLetterFile>(parse_dead_letters(text ? *text : ""));
          boost::asio::post(*ctx, [weak, e, file, answer = std::move(answer),
                                   respond = std::move(respond)]() mutable {
            auto self = weak.lock();
            if (!self) {
              respond(HttpResponse::error(503, "delivery is stopping"));
              return;
            }
            std::size_t queued = 0;
            {
              std::lock_guard<std::mutex> lock(self->status_mutex);
              auto& ids = self->dead_ids[e->index];
              for (auto& it : file->live) {
                if (ids.count(it.id) == 0 || e->replaying.count(it.id) != 0) continue;
                e->replaying.insert(it.id);
                e->replay_queue.push_back(std::move(it));
                ++queued;
              }
            }
            e->live->replay += queued;
            answer["dead_letters"] = queued;
            log::info("delivery: replaying dead letters",
                      {{"endpoint", e->spec.name}, {"events", queued}});
            self->pump(*e);
            respond(HttpResponse::json(202, json::serialize(answer)));
          });
        });
  }

  std::optional<std::string> status_json(std::string_view event_id) const {
    if (endpoints.empty()) return std::nullopt;
    const std::string id(event_id);
    bool need_lookup = false;
    {
      std::lock_guard<std::mutex> lock(status_mutex);
      auto it = records.find(id);
      if (it == records.end()) {
        need_lookup = true;
      } else {
        for (const auto& r : it->second.endpoints)
          need_lookup = need_lookup || !r.touched;
      }
    }
    std::optional<StoredEvent> stored;
    if (need_lookup) stored = journal.lookup(id);
    std::lock_guard<std::mutex> lock(status_mutex);
    auto it = records.find(id);
    if (it == records.end() && !stored) return std::nullopt;
    json::object out;
    for (const auto& ep : endpoints) {
      json::object o;
      const EndpointRecord* rec = nullptr;
      if (it != records.end() && it->second.endpoints[ep->index].touched) {
        rec = &it->second.endpoints[ep->index];
      }
      DeliveryState state = DeliveryState::pending;
      if (rec) {
        state = rec->state;
      } else if (stored) {
        // Older than the records kept in memory: what the cursor says.
        if (!ep->spec.accepts(stored->event.type)) {
          state = DeliveryState::filtered;
        } else if (dead_ids[ep->index].count(id) != 0) {
          state = DeliveryState::dead_letter;
        } else if (stored->seq <= ep->live->cursor.load()) {
          state = DeliveryState::delivered;
        }
      }
      o["state"] = state_name(state);
      json::array attempts;
      if (rec) {
        for (const auto& a : rec->attempts) {
          json::object x;
          x["at"] = format_rfc3339(a.at_ms);
          x["status"] = a.status == 0 ? json::value(nullptr) : json::value(a.status);
          x["error"] = a.error.empty() ? json::value(nullptr) : json::value(a.error);
          x["duration_ms"] = a.duration_ms;
          attempts.push_back(std::move(x));
        }
      }
      o["attempts"] = std::move(attempts);
      out[ep->spec.name] = std::move(o);
    }
    return json::serialize(out);
  }
};

// ---------------------------------------------------------------------------

Delivery::Delivery(boost::asio::io_context& io, Journal& journal, DeliveryOptions options)
    : impl_(std::make_shared<Impl>(io, journal, std::move(options))) {}

Delivery::~Delivery() {
  if (impl_->worker) impl_->worker->stop();
}

Status Delivery::start() {
  return impl_->start();
}

void Delivery::stop(std::function<void()> done) {
  std::shared_ptr<Impl> self = impl_;
  boost::asio::post(self->io,
                    [self, done = std::move(done)]() mutable { self->stop(std::move(done)); });
}

std::optional<std::string> Delivery::status_json(std::string_view event_id) const {
  return impl_->status_json(event_id);
}

void Delivery::add_routes(Router& router) {
  std::weak_ptr<Impl> weak = impl_;
  router.add("GET", "/v1/endpoints", [weak](HttpRequest& req, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    if (!self->authorize(req, respond)) return;
    boost::asio::post(self->io, [weak, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
      respond(HttpResponse::json(200, self->endpoints_json()));
    });
  });

  router.add("POST", "/v1/endpoints/{name}/replay", [weak](HttpRequest& req, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    if (!self->authorize(req, respond)) return;
    Endpoint* ep = self->find(req.params["name"]);
    if (!ep)
      return respond(HttpResponse::error(404, "no endpoint " + json_quote(req.params["name"])));
    bool dead_letters = true;
    std::optional<std::int64_t> since;
    if (!trim_ows(req.body).empty()) {
      boost::system::error_code ec;
      json::value v = json::parse(req.body, ec);
      if (ec || !v.is_object()) {
        return respond(HttpResponse::error(
            400, "body must be {} , {\"dead_letters\":true} or {\"since\":\"<RFC 3339>\"}"));
      }
      bool dl_given = false;
      for (const auto& kv : v.as_object()) {
        if (kv.key() == "dead_letters") {
          if (!kv.value().is_bool())
            return respond(HttpResponse::error(400, "dead_letters: must be a boolean"));
          dead_letters = kv.value().as_bool();
          dl_given = true;
        } else if (kv.key() == "since") {
          if (!kv.value().is_string())
            return respond(HttpResponse::error(400, "since: must be an RFC 3339 time"));
          since = parse_rfc3339(kv.value().as_string());
          if (!since) return respond(HttpResponse::error(400, "since: must be an RFC 3339 time"));
        } else {
          return respond(HttpResponse::error(400, "unknown key " + json_quote(kv.key())));
        }
      }
      if (since && !dl_given) dead_letters = false;
    }
    boost::asio::post(self->io, [weak, ep, dead_letters, since, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self || self->stopping) return respond(HttpResponse::error(503, "delivery is stopping"));
      self->replay(*ep, dead_letters, since, respond);
    });
  });

  router.add("POST", "/v1/endpoints/{name}/enable", [weak](HttpRequest& req, Responder respond) {
    auto self = weak.lock();
    if (!self) return respond(HttpResponse::error(503, "delivery is stopping"));
    if (!self->authorize(req, respond)) return;
    Endpoint* ep = self->find(req.params["name"]);
    if (!ep)
      return respond(HttpResponse::error(404, "no endpoint " + json_quote(req.params["name"])));
    boost::asio::post(self->io, [weak, ep, respond = std::move(respond)] {
      auto self = weak.lock();
      if (!self || self->stopping || !self->worker) {
        return respond(HttpResponse::error(503, "delivery is not running"));
      }
      self->set_disabled(*ep, false, "");
      self->pump(*ep);
      json::object o;
      o["endpoint"] = ep->spec.name;
      o["state"] = "active";
      respond(HttpResponse::json(200, json::serialize(o)));
    });
  });
}

}  // namespace hookd
