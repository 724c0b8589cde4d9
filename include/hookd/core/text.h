// Small text conversions every module needs for its error messages and its
// hand-written JSON. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace hookd {

// The message of an errno value ("No such file or directory").
std::string errno_text(int err);

// `text` as a JSON string literal, quotes and escapes included.
std::string json_quote(std::string_view text);

// Whether `text` holds a byte a JSON string must escape ('"', '\\', or a
// control below 0x20), tested eight bytes at a time: ids, types, timestamps
// and app ids never do, so writers size and copy them without a byte loop.
// Inline: it runs several times per message on the request path.
inline bool json_needs_escaping(std::string_view text) {
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
