#include "hookd/hooks/output_capture.h"

#include <algorithm>
#include <utility>

namespace hookd {

void OutputCapture::append(std::string_view chunk) {
  std::size_t room = max_bytes_ - std::min(max_bytes_, kept_.size());
  std::size_t keep = std::min(room, chunk.size());
  kept_.append(chunk.substr(0, keep));
  dropped_bytes_ += chunk.size() - keep;
}

std::string OutputCapture::take() {
  return std::exchange(kept_, std::string());
}

std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= in.size();
    std::uint32_t cp = ok ? (c & (0x7F >> len)) : 0;
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace hookd
