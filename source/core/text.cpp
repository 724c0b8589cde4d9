#include "hookd/core/text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace hookd {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

bool json_needs_escaping(std::string_view text) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto has_zero_byte = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, text.data() + i, sizeof w);
    // A byte below 0x20, or one equal to '"' or '\\'.
    if (((w - 0x20 * kOnes) & ~w & kHigh) | has_zero_byte(w ^ ('"' * kOnes)) |
        has_zero_byte(w ^ ('\\' * kOnes))) {
      return true;
    }
  }
  for (; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == '"' || u == '\\') return true;
  }
  return false;
}

}  // namespace hookd
