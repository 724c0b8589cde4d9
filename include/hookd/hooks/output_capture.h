// OutputCapture: what is kept of a hook child's stdout+stderr. The first
// max_bytes are kept, as read; the rest is only counted, so a chatty script
// costs no memory.
//
// A value type; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace hookd {

class OutputCapture {
 public:
  explicit OutputCapture(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // One chunk as read from the pipe.
  void append(std::string_view chunk);

  const std::string& kept() const { return kept_; }
  std::uint64_t dropped_bytes() const { return dropped_bytes_; }
  // Moves the kept bytes out (none are kept afterwards; the count stays).
  std::string take();

 private:
  std::size_t max_bytes_;
  std::string kept_;
  std::uint64_t dropped_bytes_ = 0;
};

}  // namespace hookd
