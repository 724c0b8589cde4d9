#include "hookd/core/units.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>

namespace hookd {

std::optional<std::uint64_t> parse_whole_number(std::string_view text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return n;
}

namespace {

// The number `text` starts with (1 to max_digits digits, so that scaling
// it by a unit cannot overflow) and what follows it.
std::pair<std::optional<std::uint64_t>, std::string_view> leading_number(std::string_view text,
                                                                         std::size_t max_digits) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  if (digits == 0 || digits > max_digits) return {std::nullopt, {}};
  return {parse_whole_number(text.substr(0, digits)), text.substr(digits)};
}

}  // namespace

std::optional<Milliseconds> parse_duration(std::string_view text) {
  auto [n, rest] = leading_number(text, 12);
  if (!n) return std::nullopt;
  std::string_view unit = rest;
  std::uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else {
    return std::nullopt;
  }
  // Twelve digits of days pass INT64_MAX ms: "117179869184d" read as negative.
  if (*n > static_cast<std::uint64_t>(INT64_MAX) / scale) return std::nullopt;
  return Milliseconds(static_cast<std::int64_t>(*n * scale));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  auto [n, rest] = leading_number(text, 15);
  if (!n) return std::nullopt;
  std::string unit(rest);
  for (auto& ch : unit)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K" || unit == "KB" || unit == "KIB") {
    shift = 10;
  } else if (unit == "M" || unit == "MB" || unit == "MIB") {
    shift = 20;
  } else if (unit == "G" || unit == "GB" || unit == "GIB") {
    shift = 30;
  } else {
    return std::nullopt;
  }
  if (*n > (UINT64_MAX >> shift)) return std::nullopt;  // "17179869185G" would wrap to 1 GiB
  return *n << shift;
}

}  // namespace hookd
