// RFC 3339 date-times (UTC, millisecond precision) and the wall clock they are
// read from. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookd {

// RFC 3339 in UTC with milliseconds: "2026-11-24T10:15:02.123Z".
std::string format_rfc3339(std::int64_t unix_ms);
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

std::int64_t now_unix_ms();

}  // namespace hookd
