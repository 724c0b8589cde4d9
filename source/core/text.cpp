#include "hookd/core/text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <system_error>

namespace hookd {

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

std::string json_quote(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

std::size_t json_quoted_size(std::string_view text) {
  std::size_t size = 2 + text.size();
  if (!json_needs_escaping(text)) return size;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      size += 1;
    } else if (u < 0x20) {
      size += 5;
    }
  }
  return size;
}

char* write_json_quoted(char* out, std::string_view text) {
  *out++ = '"';
  if (!json_needs_escaping(text)) {
    out = write_bytes(out, text);
    *out++ = '"';
    return out;
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out = write_bytes(out, "\\u00");
      *out++ = kHex[u >> 4];
      *out++ = kHex[u & 0xF];
    } else {
      *out++ = c;
    }
  }
  *out++ = '"';
  return out;
}

}  // namespace hookd
