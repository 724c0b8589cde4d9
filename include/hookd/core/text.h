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
  // Whether the eight bytes at `at` hold a byte below 0x20, '"' or '\\'.
  auto word_needs = [&](const char* at) {
    std::uint64_t w;
    std::memcpy(&w, at, sizeof w);
    return (((w - 0x20 * kOnes) & ~w & kHigh) | has_zero_byte(w ^ ('"' * kOnes)) |
            has_zero_byte(w ^ ('\\' * kOnes))) != 0;
  };
  if (text.size() >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
      if (word_needs(text.data() + i)) return true;
    }
    // The rest as the word ending at the text's end (it overlaps bytes
    // tested already): ids are rarely a multiple of eight long.
    return i < text.size() && word_needs(text.data() + text.size() - 8);
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == '"' || u == '\\') return true;
  }
  return false;
}

// The length of `text` written as a JSON string literal, quotes included.
std::size_t json_quoted_size(std::string_view text);

// Writes `text` at `out` as a JSON string literal of json_quoted_size(text)
// bytes and returns its end: for writers that size an answer first and fill
// it in one pass. Controls are written as \u00XX, '"' and '\\' with a
// backslash.
char* write_json_quoted(char* out, std::string_view text);

// Copies `text` to `out` and returns its end.
inline char* write_bytes(char* out, std::string_view text) {
  std::memcpy(out, text.data(), text.size());
  return out + text.size();
}

}  // namespace hookd
