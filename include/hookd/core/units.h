// The units flag values are written in: durations, sizes and whole numbers.
// Pure functions; nullopt for anything else, including values beyond range.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hookd {

using Milliseconds = std::chrono::milliseconds;

// "30", "30s", "500ms", "5m", "2h" (a bare number is seconds).
std::optional<Milliseconds> parse_duration(std::string_view text);
// "4096", "64KiB", "1MiB", "1GiB" (K/M/G are binary multiples too).
std::optional<std::uint64_t> parse_size(std::string_view text);
// Decimal digits only: no sign, no spaces, at most 64 bits.
std::optional<std::uint64_t> parse_whole_number(std::string_view text);

}  // namespace hookd
