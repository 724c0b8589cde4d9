// RFC 3339 timestamps (event validation): a parsed time formats back to a
// string that parses to the same instant, a string already in the canonical
// form formats to itself, and every instant formats to a parseable string.
#include <algorithm>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "hookd/core/event.h"

namespace {

// The range format_rfc3339 can write (four-digit years); it clamps outside.
constexpr std::int64_t kMinMs = -62167219200000;  // 0000-01-01T00:00:00.000Z
constexpr std::int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hookd::fuzz::as_text(data, size);
  if (auto ms = hookd::parse_rfc3339(text)) {
    if (*ms >= kMinMs && *ms <= kMaxMs) {
      std::string formatted = hookd::format_rfc3339(*ms);
      FUZZ_CHECK(hookd::parse_rfc3339(formatted) == ms);
      // Canonical form: upper-case T and Z, exactly three fraction digits,
      // and no leap second (which folds into the next minute).
      bool canonical = text.size() == 24 && text[10] == 'T' && text[19] == '.' && text[23] == 'Z' &&
                       text.substr(17, 2) != "60";
      if (canonical) FUZZ_CHECK(formatted == text);
    }
  }

  // Any 8 bytes as an instant: formats inside the range, parses back.
  if (size >= 8) {
    std::int64_t instant;
    std::memcpy(&instant, data, sizeof instant);
    std::string formatted = hookd::format_rfc3339(instant);
    auto back = hookd::parse_rfc3339(formatted);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == std::clamp(instant, kMinMs, kMaxMs));
  }
  return 0;
}
