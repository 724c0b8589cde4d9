#include "hookd/api/auth.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/api/jwt.h"

using hookd::api::AuthDecision;
using hookd::api::Authenticator;
using hookd::api::sign_hs256_jwt;
using hookd::api::verify_hs256_jwt;

namespace {

constexpr std::int64_t kNow = 1795515302;
const std::string kSecret = "x3ALBEzoOSkTfkGtc1HpTm3AeuElR6wa";

std::string claims(std::string extra) {
  return R"({"iat":1795515000,"nbf":1795515000,"iss":"svix-server","sub":"org_23rb8YdGqMT0qIzpgGwdXfHirMu")" +
         extra + "}";
}

// A token svix-server's library would accept only after flipping `alg`.
std::string with_header(const std::string& header_json, const std::string& token) {
  auto dot = token.find('.');
  return hookd::api::base64url_encode(header_json) + token.substr(dot);
}

}  // namespace

TEST_CASE("HS256 JWT verification", "[api][jwt]") {
  struct Row {
    const char* what;
    std::string token;
    std::string secret;
    std::string error;  // "" accepted; else a part of the message
  };
  const std::string good = sign_hs256_jwt(claims(R"(,"exp":2110875000)"), kSecret);
  std::string tampered = good;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  const std::vector<Row> rows = {
      {"good", good, kSecret, ""},
      {"no exp (svix-server tokens may omit it)", sign_hs256_jwt(claims(""), kSecret), kSecret, ""},
      {"wrong secret", good, "another-secret", "signature"},
      {"tampered signature", tampered, kSecret, "signature"},
      {"expired", sign_hs256_jwt(claims(R"(,"exp":1795510000)"), kSecret), kSecret, "expired"},
      {"expired within the leeway", sign_hs256_jwt(claims(R"(,"exp":1795515000)"), kSecret),
       kSecret, ""},
      {"not before the future", sign_hs256_jwt(R"({"sub":"org_1","nbf":1795600000})", kSecret),
       kSecret, "not valid yet"},
      {"issued in the future", sign_hs256_jwt(R"({"sub":"org_1","iat":1795600000})", kSecret),
       kSecret, "future"},
      {"alg none", with_header(R"({"alg":"none","typ":"JWT"})", good), kSecret, "HS256"},
      {"alg none, empty signature",
       with_header(R"({"alg":"none"})", good.substr(0, good.rfind('.') + 1)), kSecret, "HS256"},
      {"alg HS512", with_header(R"({"alg":"HS512"})", good), kSecret, "HS256"},
      {"no sub", sign_hs256_jwt(R"({"iat":1795515000})", kSecret), kSecret, "sub"},
      {"two parts", "abc.def", kSecret, "three"},
      {"four parts", good + ".x", kSecret, "three"},
      {"garbage", "not a token", kSecret, "three"},
      {"exp not a number", sign_hs256_jwt(R"({"sub":"org_1","exp":"soon"})", kSecret), kSecret,
       "numbers"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    auto result = verify_hs256_jwt(row.token, row.secret, kNow);
    if (row.error.empty()) {
      CHECK(result.ok());
    } else {
      REQUIRE_FALSE(result.ok());
      CHECK(result.error().message.find(row.error) != std::string::npos);
    }
  }
  auto accepted = verify_hs256_jwt(good, kSecret, kNow);
  REQUIRE(accepted.ok());
  CHECK(accepted->subject == "org_23rb8YdGqMT0qIzpgGwdXfHirMu");
  CHECK_FALSE(accepted->org);
}

TEST_CASE("base64url round trip and alphabet", "[api][jwt]") {
  for (std::string text : {"", "f", "fo", "foo", "\xff\xfe\xfd", "any carnal pleas"}) {
    auto back = hookd::api::base64url_decode(hookd::api::base64url_encode(text));
    REQUIRE(back);
    CHECK(*back == text);
  }
  CHECK(hookd::api::base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(hookd::api::base64url_decode("a+b/"));
  CHECK_FALSE(hookd::api::base64url_decode("abcde"));
}

TEST_CASE("bearer authentication: static tokens, JWTs, and closed by default", "[api][auth]") {
  using Outcome = AuthDecision::Outcome;
  const Authenticator none({}, "");
  CHECK(none.check("Bearer anything", kNow).outcome == Outcome::forbidden);
  CHECK(none.check("", kNow).outcome == Outcome::forbidden);

  const Authenticator auth({"tok-one", "tok-two"}, kSecret);
  const std::string app_token = sign_hs256_jwt(
      R"({"sub":"app_3MrjNn14vqEwN13RPhlz8sk34di","org":"org_23rb8YdGqMT0qIzpgGwdXfHirMu"})",
      kSecret);
  struct Row {
    std::string header;
    Outcome outcome;
  };
  const std::vector<Row> rows = {
      {"Bearer tok-one", Outcome::allowed},
      {"bearer tok-two", Outcome::allowed},
      {"Bearer  tok-one ", Outcome::allowed},
      {"Bearer tok-on", Outcome::unauthorized},
      {"Bearer tok-one2", Outcome::unauthorized},
      {"Basic dG9rLW9uZQ==", Outcome::unauthorized},
      {"tok-one", Outcome::unauthorized},
      {"", Outcome::unauthorized},
      {"Bearer ", Outcome::unauthorized},
      {"Bearer " + sign_hs256_jwt(claims(""), kSecret), Outcome::allowed},
      {"Bearer " + sign_hs256_jwt(claims(""), "other"), Outcome::unauthorized},
      {"Bearer " + kSecret, Outcome::unauthorized},
      {"Bearer " + app_token, Outcome::allowed},
  };
  for (const Row& row : rows) {
    CAPTURE(row.header);
    CHECK(auth.check(row.header, kNow).outcome == row.outcome);
  }
  CHECK(auth.check("Bearer " + app_token, kNow).app_id == "app_3MrjNn14vqEwN13RPhlz8sk34di");
  CHECK(auth.check("Bearer tok-one", kNow).app_id.empty());
  CHECK(auth.check("Bearer " + kSecret, kNow).detail.find("signing secret") != std::string::npos);
  // The detail never repeats what the caller sent.
  CHECK(auth.check("Bearer tok-one2", kNow).detail.find("tok-one") == std::string::npos);
}

TEST_CASE("a connection's accepted static token is remembered, nothing else is", "[api][auth]") {
  using Outcome = AuthDecision::Outcome;
  const Authenticator auth({"tok-one"}, kSecret);
  std::string remembered;
  CHECK(auth.check("Bearer tok-one", kNow, remembered).outcome == Outcome::allowed);
  CHECK(remembered == "Bearer tok-one");
  CHECK(auth.check("Bearer tok-one", kNow, remembered).outcome == Outcome::allowed);
  CHECK(remembered == "Bearer tok-one");
  // Another value on the same connection is checked in full and forgets it.
  CHECK(auth.check("Bearer tok-one2", kNow, remembered).outcome == Outcome::unauthorized);
  CHECK(remembered.empty());
  CHECK(auth.check("Bearer tok-on", kNow, remembered).outcome == Outcome::unauthorized);
  CHECK(remembered.empty());
  // JWTs expire: they are verified every time.
  const std::string jwt = "Bearer " + sign_hs256_jwt(claims(""), kSecret);
  CHECK(auth.check(jwt, kNow, remembered).outcome == Outcome::allowed);
  CHECK(remembered.empty());
  // Without any configuration nothing is allowed, remembered or not.
  const Authenticator none({}, "");
  std::string stale;
  CHECK(none.check("Bearer tok-one", kNow, stale).outcome == Outcome::forbidden);
  CHECK(stale.empty());
}
