// BearerTokens: the tokens a route accepts in "Authorization: Bearer <token>".
// Each is kept as its SHA-256 digest and compared in constant time, so
// neither the position of a first wrong byte nor the token's length shows
// in the answer time. Immutable once made: safe to share between threads.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace hookd {

class BearerTokens {
 public:
  BearerTokens() = default;
  // Empty strings are left out: an empty token would match a bare "Bearer".
  explicit BearerTokens(const std::vector<std::string>& tokens);

  bool empty() const { return digests_.empty(); }
  // True when `authorization` (the header's value) is "Bearer <t>", scheme in
  // any case, with <t> one of the tokens.
  bool accepts(std::string_view authorization) const;

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

}  // namespace hookd
