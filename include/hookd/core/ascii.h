// ASCII case folding and trimming for HTTP header names and tokens. HTTP
// field names, URL schemes and tokens compare case-insensitively, in
// ASCII only; locale-aware functions (std::tolower, strcasecmp) are wrong here.
#pragma once

#include <string>
#include <string_view>

namespace hookd {

// 'A'..'Z' -> 'a'..'z'; every other byte unchanged.
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal ignoring ASCII case.
bool ascii_iequals(std::string_view a, std::string_view b);

// `s` with ASCII upper-case letters folded to lower case.
std::string ascii_lower(std::string_view s);

// The same into `out`, reusing its capacity (for per-request buffers).
void ascii_lower_assign(std::string& out, std::string_view s);

// `s` without leading and trailing optional whitespace (SP / HTAB, RFC 9110 OWS).
std::string_view trim_ows(std::string_view s);

}  // namespace hookd
