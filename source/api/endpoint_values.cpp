#include "hookd/api/endpoint_values.h"

#include <openssl/rand.h>

#include <boost/url/parse.hpp>

#include "hookd/core/ascii.h"
#include "hookd/core/signature.h"

namespace hookd::api {
namespace {

constexpr std::size_t kSecretMinBytes = 24;
constexpr std::size_t kSecretMaxBytes = 75;
constexpr std::size_t kMaxUrlLength = 65536;

}  // namespace

std::optional<std::string> normalise_secret(std::string_view text) {
  std::string_view body = text;
  if (body.rfind("whsec_", 0) == 0) body.remove_prefix(6);
  auto key = base64_decode(body);
  if (!key || key->size() < kSecretMinBytes || key->size() > kSecretMaxBytes) return std::nullopt;
  return "whsec_" + base64_encode(*key);
}

std::string generate_secret() {
  unsigned char bytes[kSecretMinBytes];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  return "whsec_" + base64_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

bool valid_endpoint_url(std::string_view url) {
  if (url.empty() || url.size() > kMaxUrlLength) return false;
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return false;
  std::string scheme = ascii_lower(parsed->scheme());
  return (scheme == "http" || scheme == "https") && parsed->has_authority() &&
         !parsed->encoded_host().empty();
}

bool sensitive_header(std::string_view name) {
  static const char* const kSensitive[] = {"x-auth-token",       "x-api-key",
                                           "www-authenticate",   "authorization",
                                           "proxy-authenticate", "proxy-authorization"};
  for (const char* sensitive : kSensitive) {
    if (ascii_iequals(name, sensitive)) return true;
  }
  return false;
}

}  // namespace hookd::api
