#include "hookd/delivery/retry_policy.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstring>

#include "hookd/core/ascii.h"
#include "hookd/core/text.h"

namespace hookd {

using std::chrono::milliseconds;

namespace {

constexpr std::size_t kAttemptResponseBytes = 1024;

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// IMF-fixdate, RFC 850 and asctime (RFC 9110 5.6.7), as unix seconds.
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

// Like config's parse_duration, with fractions ("1.5s") and an error text.
Result<milliseconds> parse_delivery_duration(std::string_view text) {
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

Result<std::vector<milliseconds>> parse_retry_schedule(std::string_view text) {
  std::vector<milliseconds> out;
  if (trim_ows(text).empty()) return make_error("retry schedule is empty");
  std::size_t pos = 0;
  for (;;) {
    std::size_t comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
    auto d = parse_delivery_duration(item);
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

bool AttemptOutcome::throttled() const {
  if (status == 0) return error.rfind("timeout:", 0) == 0;
  return status == 429 || status == 502 || status == 504;
}

std::string AttemptOutcome::description() const {
  if (accepted) return "accepted";
  return error.empty() ? "HTTP " + std::to_string(status) : error;
}

AttemptOutcome outcome_of(const Result<IncomingResponse>& response) {
  AttemptOutcome outcome;
  if (!response) {
    outcome.error = response.error().message;
    outcome.response = outcome.error;
    return outcome;
  }
  outcome.status = response->status;
  // Cut at a character boundary, so the JSON that shows it stays UTF-8.
  const std::string& body = response->body;
  std::size_t keep = std::min(body.size(), kAttemptResponseBytes);
  while (keep > 0 && keep < body.size() && (static_cast<unsigned char>(body[keep]) & 0xC0) == 0x80)
    --keep;
  outcome.response = body.substr(0, keep);
  // Only a failure's Retry-After matters.
  if (!outcome.success()) outcome.retry_after = response->header("retry-after");
  return outcome;
}

RetryPolicy::RetryPolicy(std::vector<milliseconds> schedule, double jitter,
                         milliseconds min_throttled)
    : schedule_(std::move(schedule)), jitter_(jitter), min_throttled_(min_throttled) {}

std::optional<milliseconds> RetryPolicy::next_attempt(std::size_t failures,
                                                      const AttemptOutcome& outcome,
                                                      std::int64_t now_unix,
                                                      double random01) const {
  if (failures == 0 || failures > schedule_.size()) return std::nullopt;
  std::optional<milliseconds> retry_after;
  if (!outcome.retry_after.empty()) retry_after = parse_retry_after(outcome.retry_after, now_unix);
  return retry_delay(schedule_[failures - 1], jitter_, random01, retry_after, outcome.throttled(),
                     min_throttled_);
}

milliseconds RetryPolicy::dead_letter_write_retry() const {
  milliseconds later = schedule_.empty() ? milliseconds(5000) : schedule_.back();
  return std::max(later, milliseconds(1000));
}

}  // namespace hookd
