#include "hookd/server/bearer_tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "hookd/core/ascii.h"

namespace hookd {

namespace {

std::array<unsigned char, 32> digest(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

}  // namespace

BearerTokens::BearerTokens(const std::vector<std::string>& tokens) {
  for (const std::string& token : tokens) {
    if (!token.empty()) digests_.push_back(digest(token));
  }
}

bool BearerTokens::accepts(std::string_view authorization) const {
  std::string_view header = trim_ows(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || !ascii_iequals(header.substr(0, kScheme.size()), kScheme))
    return false;
  std::string_view token = trim_ows(header.substr(kScheme.size()));
  if (token.empty()) return false;
  const auto presented = digest(token);
  // Every token is compared, so the time does not say which one matched.
  bool found = false;
  for (const auto& known : digests_) {
    found |= CRYPTO_memcmp(presented.data(), known.data(), known.size()) == 0;
  }
  return found;
}

}  // namespace hookd
