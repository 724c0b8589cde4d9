// Retry timing from configuration and from endpoints: --retry-schedule lists
// (one wait per comma-separated entry, each within a year, written back as
// milliseconds parses the same) and Retry-After values (never negative,
// delta-seconds capped at a year, HTTP-dates in the three RFC 9110 forms
// giving the wait until that instant).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "hookd/delivery/delivery.h"

namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kNow = 1795000000;  // unix seconds
constexpr std::int64_t kYearMs = 366LL * 86400 * 1000;

void check_schedule(std::string_view text) {
  auto schedule = hookd::parse_retry_schedule(text);
  if (!schedule) return;
  FUZZ_CHECK(schedule->size() ==
             static_cast<std::size_t>(std::count(text.begin(), text.end(), ',')) + 1);
  std::string written;
  for (milliseconds wait : *schedule) {
    FUZZ_CHECK(wait.count() >= 0 && wait.count() <= kYearMs);
    written += (written.empty() ? "" : ",") + std::to_string(wait.count()) + "ms";
  }
  FUZZ_CHECK(hookd::parse_retry_schedule(written).ok());
  FUZZ_CHECK(*hookd::parse_retry_schedule(written) == *schedule);
}

bool all_digits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

void check_retry_after(std::string_view text) {
  auto wait = hookd::parse_retry_after(text, kNow);
  if (!wait) return;
  FUZZ_CHECK(wait->count() >= 0);
  std::string_view trimmed = text;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
    trimmed.remove_prefix(1);
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
    trimmed.remove_suffix(1);
  if (all_digits(trimmed) && trimmed.size() < 19) {
    auto seconds = static_cast<std::int64_t>(std::stoll(std::string(trimmed)));
    FUZZ_CHECK(wait->count() == std::min<std::int64_t>(seconds, kYearMs / 1000) * 1000);
  }
}

// An instant in 1970..9999 from the input's first bytes, written in each
// HTTP-date form, must come back as the wait until it.
void check_http_dates(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return;
  std::uint64_t bits;
  std::memcpy(&bits, data, sizeof bits);
  constexpr std::int64_t kLast = 253402300799;  // 9999-12-31T23:59:59Z
  auto at = static_cast<std::int64_t>(bits % static_cast<std::uint64_t>(kLast + 1));
  using namespace std::chrono;
  sys_seconds time{seconds(at)};
  sys_days day = floor<days>(time);
  year_month_day date(day);
  hh_mm_ss clock(time - day);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  unsigned weekday_index = weekday(day).c_encoding();
  const char* month = kMonths[static_cast<unsigned>(date.month()) - 1];
  int year = static_cast<int>(date.year());
  auto d = static_cast<int>(static_cast<unsigned>(date.day()));
  auto h = static_cast<int>(clock.hours().count());
  auto m = static_cast<int>(clock.minutes().count());
  auto s = static_cast<int>(clock.seconds().count());
  char text[96];
  auto expect = [&](std::int64_t instant) {
    auto wait = hookd::parse_retry_after(text, kNow);
    FUZZ_CHECK(wait.has_value());
    FUZZ_CHECK(wait->count() == std::max<std::int64_t>(0, instant - kNow) * 1000);
  };
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[weekday_index], d,
                month, year, h, m, s);
  expect(at);
  // asctime: Sun Nov  6 08:49:37 1994
  std::snprintf(text, sizeof text, "%s %s %2d %02d:%02d:%02d %04d", kDays[weekday_index], month, d,
                h, m, s, year);
  expect(at);
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit years: 1970..2069)
  if (year >= 1970 && year <= 2069) {
    std::snprintf(text, sizeof text, "%s, %02d-%s-%02d %02d:%02d:%02d GMT",
                  kLongDays[weekday_index], d, month, year % 100, h, m, s);
    expect(at);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hookd::fuzz::as_text(data, size);
  check_schedule(text);
  check_retry_after(text);
  check_http_dates(data, size);
  return 0;
}
