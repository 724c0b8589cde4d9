#include "hookd/api/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/json.hpp>
#include <cmath>

#include "hookd/core/signature.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

// Far beyond what svix-server issues (~200 bytes); bounds the work a
// stranger's token can cause.
constexpr std::size_t kMaxTokenBytes = 8192;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  static const unsigned char kNoKey = 0;
  const void* key_bytes = key.empty() ? &kNoKey : static_cast<const void*>(key.data());
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

std::optional<json::object> decode_object(std::string_view part) {
  auto text = base64url_decode(part);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// A NumericDate claim: absent is fine, present must be a number.
bool read_time(const json::object& claims, std::string_view name,
               std::optional<std::int64_t>& out) {
  const json::value* value = claims.if_contains(name);
  if (!value || value->is_null()) return true;
  if (value->is_int64()) {
    out = value->get_int64();
  } else if (value->is_uint64()) {
    out = static_cast<std::int64_t>(std::min<std::uint64_t>(value->get_uint64(), INT64_MAX));
  } else if (value->is_double() && std::isfinite(value->get_double())) {
    out = static_cast<std::int64_t>(value->get_double());
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;  // not the URL alphabet
    }
  }
  while (standard.size() % 4 != 0)
    standard += '=';
  return base64_decode(standard);
}

Result<JwtClaims> verify_hs256_jwt(std::string_view token, std::string_view secret,
                                   std::int64_t now_unix, std::int64_t leeway_seconds) {
  if (token.size() > kMaxTokenBytes) return make_error("token too long");
  std::size_t first = token.find('.');
  std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return make_error("not a JSON Web Token (expected three dot-separated parts)");
  }
  auto header = decode_object(token.substr(0, first));
  if (!header) return make_error("token header is not base64url JSON");
  const json::value* alg = header->if_contains("alg");
  // "none" and every other algorithm are refused: the secret is an HMAC key.
  if (!alg || !alg->is_string() || alg->get_string() != "HS256") {
    return make_error("token algorithm must be HS256");
  }
  auto signature = base64url_decode(token.substr(second + 1));
  std::string expected = hmac_sha256(secret, token.substr(0, second));
  if (!signature || expected.empty() || signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return make_error("token signature does not match");
  }

  auto claims = decode_object(token.substr(first + 1, second - first - 1));
  if (!claims) return make_error("token claims are not base64url JSON");
  std::optional<std::int64_t> exp, nbf, iat;
  if (!read_time(*claims, "exp", exp) || !read_time(*claims, "nbf", nbf) ||
      !read_time(*claims, "iat", iat)) {
    return make_error("token time claims must be numbers");
  }
  if (exp && now_unix > *exp && now_unix - *exp > leeway_seconds) {
    return make_error("token expired");
  }
  if (nbf && *nbf > now_unix && *nbf - now_unix > leeway_seconds) {
    return make_error("token not valid yet");
  }
  if (iat && *iat > now_unix && *iat - now_unix > leeway_seconds) {
    return make_error("token issued in the future");
  }

  JwtClaims out;
  out.expires_at = exp;
  if (const json::value* sub = claims->if_contains("sub"); sub && sub->is_string()) {
    out.subject = json::string_view(sub->get_string());
  }
  if (out.subject.empty()) return make_error("token has no `sub`");
  if (const json::value* org = claims->if_contains("org"); org && org->is_string()) {
    out.org = std::string(json::string_view(org->get_string()));
  }
  return out;
}

std::string sign_hs256_jwt(std::string_view claims_json, std::string_view secret) {
  std::string signing_input =
      base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims_json);
  return signing_input + "." + base64url_encode(hmac_sha256(secret, signing_input));
}

}  // namespace hookd::api
