// Verification of the HS256 JSON Web Tokens svix-server issues (`svix-server
// jwt generate`): signed with its jwt_secret as raw bytes, `sub` the
// organisation id (or, with an `org` claim, an application id). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd::api {

struct JwtClaims {
  std::string subject;             // `sub`
  std::optional<std::string> org;  // `org`: set for application-scoped tokens
  std::optional<std::int64_t> expires_at;
};

// Accepts only alg HS256 with a valid signature under `secret`; `exp`, `nbf`
// and `iat` are checked against `now_unix` with `leeway_seconds` of clock
// skew (svix-server allows 15 minutes). The error says which check failed.
Result<JwtClaims> verify_hs256_jwt(std::string_view token, std::string_view secret,
                                   std::int64_t now_unix, std::int64_t leeway_seconds = 900);

// A token verify_hs256_jwt accepts, for tests and tools: header {"alg":"HS256",
// "typ":"JWT"} and `claims_json` (a JSON object) as the payload.
std::string sign_hs256_jwt(std::string_view claims_json, std::string_view secret);

// RFC 4648 section 5 base64url without padding.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace hookd::api
