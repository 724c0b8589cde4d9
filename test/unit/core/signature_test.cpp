#include "hookd/core/signature.h"

#include <string>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "support/support.h"

namespace json = boost::json;
using hookd::WebhookSecret;

namespace {

// The Standard Webhooks published example, from the shared fixtures.
struct Vector {
  std::string secret;
  std::string id;
  std::int64_t timestamp = 0;
  std::string body;
  std::string signature;
};

Vector load_vector() {
  json::object o = json::parse(hookd::test::fixture("standard-webhooks-vector.json")).as_object();
  return Vector{
      json::value_to<std::string>(o.at("secret")), json::value_to<std::string>(o.at("id")),
      o.at("timestamp").to_number<std::int64_t>(), json::value_to<std::string>(o.at("body")),
      json::value_to<std::string>(o.at("signature"))};
}

WebhookSecret secret_of(const Vector& v) {
  auto secret = WebhookSecret::parse(v.secret);
  REQUIRE(secret.ok());
  return *secret;
}

std::string verify_error(const WebhookSecret& secret, const std::string& id, const std::string& ts,
                         const std::string& header, const std::string& body, std::int64_t now,
                         std::int64_t tolerance = 300) {
  auto status = secret.verify(id, ts, header, body, now, tolerance);
  return status.ok() ? "<ok>" : status.error().message;
}

}  // namespace

TEST_CASE("the published Standard Webhooks example signs and verifies", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  CHECK(secret.sign(v.id, v.timestamp, v.body) == v.signature);
  CHECK(verify_error(secret, v.id, std::to_string(v.timestamp), v.signature, v.body, v.timestamp) ==
        "<ok>");
  // The same key given as bare base64, as the reference libraries allow.
  auto bare = WebhookSecret::parse(v.secret.substr(6));
  REQUIRE(bare.ok());
  CHECK(bare->sign(v.id, v.timestamp, v.body) == v.signature);
}

TEST_CASE("tampered messages fail", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  const std::string ts = std::to_string(v.timestamp);
  const std::int64_t now = v.timestamp;

  CHECK(verify_error(secret, v.id, ts, v.signature, v.body + " ", now) == "no matching signature");
  CHECK(verify_error(secret, v.id, ts, v.signature, "{\"test\": 2432232315}", now) ==
        "no matching signature");
  CHECK(verify_error(secret, v.id + "x", ts, v.signature, v.body, now) == "no matching signature");
  CHECK(verify_error(secret, v.id, std::to_string(v.timestamp + 1), v.signature, v.body, now) ==
        "no matching signature");

  std::string flipped = v.signature;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  CHECK(verify_error(secret, v.id, ts, flipped, v.body, now) == "no matching signature");
  // Truncated, not base64, and wrong-length signatures are no match either.
  CHECK(verify_error(secret, v.id, ts, v.signature.substr(0, v.signature.size() - 4), v.body,
                     now) == "no matching signature");
  CHECK(verify_error(secret, v.id, ts, "v1,!!!!", v.body, now) == "no matching signature");
  CHECK(verify_error(secret, v.id, ts, "v1,", v.body, now) == "no matching signature");
  CHECK(verify_error(secret, v.id, ts, "v1,AAAA", v.body, now) == "no matching signature");

  auto other = WebhookSecret::parse("whsec_" + hookd::base64_encode("another key of 24 bytes!"));
  REQUIRE(other.ok());
  CHECK(verify_error(*other, v.id, ts, v.signature, v.body, now) == "no matching signature");
}

TEST_CASE("a header with several signatures passes when one matches", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  const std::string ts = std::to_string(v.timestamp);
  const std::string wrong = "v1,Ceqw4/TEeU7XAkEEXKqEXMdiN6gtq0UYGUYW5JrtwnU=";

  CHECK(verify_error(secret, v.id, ts, wrong + " " + v.signature, v.body, v.timestamp) == "<ok>");
  CHECK(verify_error(secret, v.id, ts, v.signature + " " + wrong, v.body, v.timestamp) == "<ok>");
  CHECK(verify_error(secret, v.id, ts, wrong + " " + wrong, v.body, v.timestamp) ==
        "no matching signature");
}

TEST_CASE("only v1 entries are compared", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  const std::string ts = std::to_string(v.timestamp);
  const std::string mac = v.signature.substr(3);

  CHECK(verify_error(secret, v.id, ts, "v2," + mac, v.body, v.timestamp) ==
        "no matching signature");
  CHECK(verify_error(secret, v.id, ts, "v1a," + mac, v.body, v.timestamp) ==
        "no matching signature");
  CHECK(verify_error(secret, v.id, ts, mac, v.body, v.timestamp) == "no matching signature");
  CHECK(verify_error(secret, v.id, ts, "v2," + mac + " v1," + mac, v.body, v.timestamp) == "<ok>");
}

TEST_CASE("timestamps outside the tolerance fail in both directions", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  const std::string ts = std::to_string(v.timestamp);

  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp + 300) == "<ok>");
  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp - 300) == "<ok>");
  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp + 301) ==
        "timestamp too old");
  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp - 301) ==
        "timestamp too new");
  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp + 10, 5) ==
        "timestamp too old");
  CHECK(verify_error(secret, v.id, ts, v.signature, v.body, v.timestamp - 10, 5) ==
        "timestamp too new");
}

TEST_CASE("missing and malformed headers are told apart", "[signature]") {
  Vector v = load_vector();
  WebhookSecret secret = secret_of(v);
  const std::string ts = std::to_string(v.timestamp);
  const std::int64_t now = v.timestamp;

  CHECK(verify_error(secret, "", ts, v.signature, v.body, now) == "missing webhook-id");
  CHECK(verify_error(secret, v.id, "", v.signature, v.body, now) == "missing webhook-timestamp");
  CHECK(verify_error(secret, v.id, ts, "", v.body, now) == "missing webhook-signature");
  for (const char* bad : {"abc", "1614265330.5", "-1614265330", "+1614265330", " 1614265330",
                          "1614265330 ", "1e9", "99999999999999999999999"}) {
    CAPTURE(bad);
    CHECK(verify_error(secret, v.id, bad, v.signature, v.body, now).rfind("invalid timestamp", 0) ==
          0);
  }
}

TEST_CASE("bad secrets are rejected", "[signature]") {
  CHECK(WebhookSecret::parse("").error().message.rfind("secret: empty", 0) == 0);
  CHECK(WebhookSecret::parse("whsec_").error().message.rfind("secret: empty", 0) == 0);
  CHECK(WebhookSecret::parse("whsec_not base64!").error().message.rfind("secret: not valid", 0) ==
        0);
  CHECK(WebhookSecret::parse("whsec_A").error().message.rfind("secret: not valid", 0) == 0);
  CHECK(WebhookSecret::parse("whsec_QUJD=").error().message.rfind("secret: not valid", 0) == 0);
  CHECK(WebhookSecret::parse("whsec_====").error().message.rfind("secret: not valid", 0) == 0);
  // The secret itself never shows up in the reason.
  CHECK(WebhookSecret::parse("whsec_s3cr3t*").error().message.find("s3cr3t") == std::string::npos);
  // Unpadded base64 is accepted.
  CHECK(WebhookSecret::parse("whsec_QUJD").ok());
  CHECK(WebhookSecret::parse("whsec_QUI").ok());
}

TEST_CASE("base64 round-trips and follows RFC 4648", "[signature]") {
  CHECK(hookd::base64_encode("") == "");
  CHECK(hookd::base64_encode("f") == "Zg==");
  CHECK(hookd::base64_encode("fo") == "Zm8=");
  CHECK(hookd::base64_encode("foo") == "Zm9v");
  CHECK(hookd::base64_encode("foob") == "Zm9vYg==");
  CHECK(hookd::base64_encode("fooba") == "Zm9vYmE=");
  CHECK(hookd::base64_encode("foobar") == "Zm9vYmFy");
  CHECK(hookd::base64_decode("Zm9vYmE=") == "fooba");
  CHECK(hookd::base64_decode("Zm9vYmE") == "fooba");
  CHECK(hookd::base64_decode("Zm9vYg==") == "foob");
  CHECK(hookd::base64_decode("Zm9vYg") == "foob");
  CHECK(hookd::base64_decode("") == "");
  CHECK_FALSE(hookd::base64_decode("Zm9vY").has_value());
  CHECK_FALSE(hookd::base64_decode("Zm9v=").has_value());
  CHECK_FALSE(hookd::base64_decode("Zm9vYg=").has_value());
  CHECK_FALSE(hookd::base64_decode("Zm9-").has_value());
  CHECK_FALSE(hookd::base64_decode("Zm=v").has_value());

  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 17) {
    std::string bytes = all.substr(0, n);
    CHECK(hookd::base64_decode(hookd::base64_encode(bytes)) == bytes);
  }
}

TEST_CASE("what sign produces, verify accepts", "[signature]") {
  auto secret = WebhookSecret::parse("whsec_" + hookd::base64_encode("0123456789abcdef0123456789"));
  REQUIRE(secret.ok());
  std::string body = hookd::test::fixture("session-open.event.json");
  std::string header = secret->sign("evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A", 1795515302, body);
  CHECK(header.rfind("v1,", 0) == 0);
  CHECK(header.size() == 3 + 44);
  CHECK(secret->verify("evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A", "1795515302", header, body, 1795515302)
            .ok());
  // Signing again under another key in between does not disturb the per-thread MAC.
  auto other = WebhookSecret::parse("whsec_" + hookd::base64_encode("x"));
  REQUIRE(other.ok());
  CHECK(other->sign("a", 1, "b") != secret->sign("a", 1, "b"));
  CHECK(secret->sign("evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A", 1795515302, body) == header);
}
