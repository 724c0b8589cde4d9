#include "hookd/core/rfc3339.h"

#include <algorithm>
#include <chrono>

namespace hookd {
namespace {

// Reads exactly `width` digits at `pos`.
bool read_digits(std::string_view text, std::size_t pos, std::size_t width, int& value) {
  if (pos + width > text.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  return true;
}

void write_digits(char* out, int value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

std::string format_rfc3339(std::int64_t unix_ms) {
  using namespace std::chrono;
  // RFC 3339 has four-digit years only.
  constexpr std::int64_t kMin = -62167219200000;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kMax = 253402300799999;  // 9999-12-31T23:59:59.999Z
  unix_ms = std::clamp(unix_ms, kMin, kMax);
  sys_time<milliseconds> time{milliseconds(unix_ms)};
  sys_days day = floor<days>(time);
  auto in_day = (time - day).count();  // ms since midnight

  char out[24];  // YYYY-MM-DDTHH:MM:SS.mmmZ
  // The date part of the day last formatted on this thread: new message
  // ids and arrival times are formatted all day long with the same date.
  thread_local sys_days cached_day = sys_days::max();
  thread_local char cached_date[11];  // YYYY-MM-DDT
  if (day != cached_day) {
    year_month_day date(day);
    write_digits(cached_date, static_cast<int>(date.year()), 4);
    cached_date[4] = '-';
    write_digits(cached_date + 5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
    cached_date[7] = '-';
    write_digits(cached_date + 8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
    cached_date[10] = 'T';
    cached_day = day;
  }
  std::copy(cached_date, cached_date + sizeof cached_date, out);
  write_digits(out + 11, static_cast<int>(in_day / 3600000), 2);
  out[13] = ':';
  write_digits(out + 14, static_cast<int>(in_day / 60000 % 60), 2);
  out[16] = ':';
  write_digits(out + 17, static_cast<int>(in_day / 1000 % 60), 2);
  out[19] = '.';
  write_digits(out + 20, static_cast<int>(in_day % 1000), 3);
  out[23] = 'Z';
  return std::string(out, sizeof out);
}

// date-time = YYYY-MM-DD "T" HH:MM:SS [ "." 1*DIGIT ] ( "Z" / ("+" / "-") HH:MM ),
// "T" and "Z" in either case (RFC 3339 section 5.6). Fractions beyond
// milliseconds are truncated; more than nine digits are refused.
std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  int year, month, day, hour, minute, second;
  if (!read_digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !read_digits(text, 11, 2, hour) || text[13] != ':' ||
      !read_digits(text, 14, 2, minute) || text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                      std::chrono::day(static_cast<unsigned>(day))};
  // Second 60 is a leap second; like POSIX time it folds into the next minute.
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;

  std::size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (std::size_t i = digits; i < 3; ++i)
      millis *= 10;
  }

  if (pos >= text.size()) return std::nullopt;
  int offset_minutes = 0;
  char zone = text[pos];
  if (zone == 'Z' || zone == 'z') {
    ++pos;
  } else if (zone == '+' || zone == '-') {
    int offset_hour, offset_minute;
    if (!read_digits(text, pos + 1, 2, offset_hour) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_minute) || offset_hour > 23 ||
        offset_minute > 59) {
      return std::nullopt;
    }
    offset_minutes = (offset_hour * 60 + offset_minute) * (zone == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  std::int64_t days_since_epoch = sys_days(date).time_since_epoch().count();
  return days_since_epoch * 86400000 + hour * 3600000LL + minute * 60000LL + second * 1000LL +
         millis - offset_minutes * 60000LL;
}

std::int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
}  // namespace hookd
