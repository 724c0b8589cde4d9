// Who may call the Svix API: `Authorization: Bearer <token>` with one of the
// configured static tokens, or an HS256 JWT as svix-server issues them,
// verified with the configured jwt secret. With neither configured every
// request is refused (403): the API is never open by default.
// Immutable after construction; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/sha256.h"

namespace hookd::api {

struct AuthDecision {
  enum class Outcome { allowed, unauthorized, forbidden };
  Outcome outcome = Outcome::unauthorized;
  std::string detail;  // why not (for the 401/403 body; never echoes the token)
  // Set for application-scoped JWTs (`org` claim): the only application
  // this caller may touch. Empty: the whole API.
  std::string app_id;
};

class Authenticator {
 public:
  Authenticator(const std::vector<std::string>& tokens, std::string jwt_secret);

  bool configured() const { return !token_digests_.empty() || !jwt_secret_.empty(); }

  // `authorization` is the header's value ("" when absent).
  AuthDecision check(std::string_view authorization, std::int64_t now_unix) const;
  // The same for a request on a connection that presented `remembered`
  // before and had it accepted as a static token: that value again is
  // allowed without digesting it (compared in constant time), and a value
  // a static token accepts now is remembered. JWTs are never remembered:
  // they expire.
  AuthDecision check(std::string_view authorization, std::int64_t now_unix,
                     std::string& remembered) const;

 private:
  using Digest = Sha256Digest;
  // Tokens are kept and compared as SHA-256 digests: the comparison then
  // takes the same time whatever the lengths, and no token sits in memory.
  std::vector<Digest> token_digests_;
  std::string jwt_secret_;
};

}  // namespace hookd::api
