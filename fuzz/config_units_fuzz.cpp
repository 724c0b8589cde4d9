// Configuration durations and sizes (parse_duration, parse_size): an accepted
// value is exactly its number times its unit, with no overflow, and a
// number and unit that fit are always accepted. The unit's factor comes
// from the parser itself ("1" + unit), so the rule is checked, not copied.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_check.h"
#include "hookd/core/config.h"

namespace {

struct Split {
  std::string_view digits;
  std::string_view unit;
};

Split split(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9')
    ++n;
  return {text.substr(0, n), text.substr(n)};
}

std::optional<std::uint64_t> number(std::string_view digits) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return value;
}

// `value` == n * factor <= limit, given that a unit is valid iff "1<unit>"
// parses and the number has at most `max_digits` digits.
template <typename Parse, typename Count>
void check_units(std::string_view text, Parse parse, Count count, std::size_t max_digits,
                 std::uint64_t limit) {
  auto [digits, unit] = split(text);
  auto parsed = parse(text);
  auto factor = parse("1" + std::string(unit));
  auto n = number(digits);
  bool fits = factor && n && digits.size() <= max_digits &&
              *n <= limit / static_cast<std::uint64_t>(count(*factor));
  if (!parsed) {
    FUZZ_CHECK(!fits);
    return;
  }
  FUZZ_CHECK(factor && n && fits);
  FUZZ_CHECK(static_cast<std::uint64_t>(count(*parsed)) ==
             *n * static_cast<std::uint64_t>(count(*factor)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hookd::fuzz::as_text(data, size);
  check_units(
      text, [](std::string_view t) { return hookd::parse_duration(t); },
      [](hookd::Milliseconds d) { return d.count(); }, 12, INT64_MAX);
  check_units(
      text, [](std::string_view t) { return hookd::parse_size(t); },
      [](std::uint64_t bytes) { return bytes; }, 15, UINT64_MAX);
  return 0;
}
