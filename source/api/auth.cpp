#include "hookd/api/auth.h"

#include <openssl/crypto.h>

#include "hookd/api/jwt.h"
#include "hookd/core/ascii.h"
#include "hookd/core/sha256.h"

namespace hookd::api {
namespace {

AuthDecision refuse(AuthDecision::Outcome outcome, std::string detail) {
  AuthDecision decision;
  decision.outcome = outcome;
  decision.detail = std::move(detail);
  return decision;
}

}  // namespace

Authenticator::Authenticator(const std::vector<std::string>& tokens, std::string jwt_secret)
    : jwt_secret_(std::move(jwt_secret)) {
  for (const std::string& token : tokens) {
    if (!token.empty()) token_digests_.push_back(sha256(token));
  }
}

AuthDecision Authenticator::check(std::string_view authorization, std::int64_t now_unix) const {
  std::string remembered;
  return check(authorization, now_unix, remembered);
}

AuthDecision Authenticator::check(std::string_view authorization, std::int64_t now_unix,
                                  std::string& remembered) const {
  using Outcome = AuthDecision::Outcome;
  if (!configured()) {
    remembered.clear();
    return refuse(Outcome::forbidden,
                  "The API is disabled: no --api-token or --api-jwt-secret is configured.");
  }
  // The tokens never change, so a value one of them accepted stays accepted.
  if (!remembered.empty() && remembered.size() == authorization.size() &&
      CRYPTO_memcmp(remembered.data(), authorization.data(), authorization.size()) == 0) {
    return AuthDecision{Outcome::allowed, {}, {}};
  }
  remembered.clear();
  const std::string_view original = authorization;
  authorization = trim_ows(authorization);
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !ascii_iequals(authorization.substr(0, kScheme.size()), kScheme)) {
    return refuse(Outcome::unauthorized, "Invalid token: expected Authorization: Bearer <token>");
  }
  std::string_view token = trim_ows(authorization.substr(kScheme.size()));

  Digest digest = sha256(token);
  bool matched = false;
  for (const Digest& known : token_digests_) {
    // No early exit: every configured token is compared.
    matched |= CRYPTO_memcmp(known.data(), digest.data(), digest.size()) == 0;
  }
  if (matched) {
    remembered.assign(original);
    return AuthDecision{Outcome::allowed, {}, {}};
  }

  if (!jwt_secret_.empty()) {
    auto claims = verify_hs256_jwt(token, jwt_secret_, now_unix);
    if (claims) {
      AuthDecision decision{Outcome::allowed, {}, {}};
      if (claims->org) decision.app_id = claims->subject;
      return decision;
    }
    if (token.size() == jwt_secret_.size() &&
        CRYPTO_memcmp(token.data(), jwt_secret_.data(), token.size()) == 0) {
      return refuse(Outcome::unauthorized,
                    "Authentication failed. JWT signing secrets can not be used as tokens.");
    }
  }
  return refuse(Outcome::unauthorized, "Invalid token");
}

}  // namespace hookd::api
