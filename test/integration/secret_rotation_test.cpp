// Inbound secret rotation on the real daemon: with the old and the new secret
// configured (the flag twice, or HOOKD_INBOUND_SECRET on two lines), a sender
// signing with either is accepted, one signing with any other is refused.
// Some signatures come from the Standard Webhooks reference library.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/standard_webhooks.h"
#include "support/support.h"

namespace json = boost::json;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::post_json;
using hookd::test::reference_signed_headers;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

const std::string kOld = "whsec_" + hookd::base64_encode("rotation-test-old-secret-1");
const std::string kNew = "whsec_" + hookd::base64_encode("rotation-test-new-secret-2");
const std::string kUnknown = "whsec_" + hookd::base64_encode("rotation-test-unknown-secret");

std::string event_body(const std::string& type) {
  json::object o;
  o["type"] = type;
  o["payload"] = json::object{{"user", "alice@example.com"}};
  return json::serialize(o);  // no "id": the event takes the webhook-id
}

// Signed by hookd's own signer, once per secret, the signatures
// space-separated in one header as Standard Webhooks allows.
Headers signed_by(const std::vector<std::string>& secrets, const std::string& id,
                  const std::string& body) {
  std::int64_t now = hookd::now_unix_ms() / 1000;
  std::string signatures;
  for (const auto& secret : secrets) {
    auto parsed = hookd::WebhookSecret::parse(secret);
    REQUIRE(parsed.ok());
    signatures += (signatures.empty() ? "" : " ") + parsed->sign(id, now, body);
  }
  return {{"webhook-id", id},
          {"webhook-timestamp", std::to_string(now)},
          {"webhook-signature", signatures}};
}

}  // namespace

TEST_CASE("with two inbound secrets, requests signed by either are accepted, others refused",
          "[security][rotation]") {
  DaemonOptions options;
  SECTION("--inbound-secret twice") {
    options.args = {"--inbound-secret", kOld, "--inbound-secret", kNew};
  }
  SECTION("HOOKD_INBOUND_SECRET, one per line") {
    options.env = {"HOOKD_INBOUND_SECRET=" + kOld + "\n" + kNew + "\n"};
  }
  Daemon daemon(options);
  const auto port = daemon.port();

  const std::string body = event_body("session.open");
  auto by_old =
      post_json(port, "/v1/events", body, reference_signed_headers(kOld, "msg_rotation_old", body));
  INFO(by_old.body);
  CHECK(by_old.status == 202);

  auto by_new = post_json(port, "/v1/events", body, signed_by({kNew}, "msg_rotation_new", body));
  INFO(by_new.body);
  CHECK(by_new.status == 202);

  auto by_unknown = post_json(port, "/v1/events", body,
                              reference_signed_headers(kUnknown, "msg_rotation_unknown", body));
  INFO(by_unknown.body);
  CHECK(by_unknown.status == 401);
  CHECK(by_unknown.body.find("no matching signature") != std::string::npos);
  CHECK(hookd::test::http(port, "GET", "/v1/events/msg_rotation_unknown").status == 404);

  // A sender mid-rotation may send both signatures, space-separated: one
  // that matches is enough, wherever it stands.
  auto by_list =
      post_json(port, "/v1/events", body, signed_by({kUnknown, kNew}, "msg_rotation_both", body));
  INFO(by_list.body);
  CHECK(by_list.status == 202);

  auto unsigned_request = post_json(port, "/v1/events", body);
  CHECK(unsigned_request.status == 401);

  for (const char* id : {"msg_rotation_old", "msg_rotation_new", "msg_rotation_both"}) {
    INFO(id);
    CHECK(hookd::test::http(port, "GET", std::string("/v1/events/") + id).status == 200);
  }
  CHECK(daemon.log().find("\"inbound_secrets\":2") != std::string::npos);
}

TEST_CASE("a bad second inbound secret exits 2 naming its position, not its value",
          "[security][rotation]") {
  std::string out;
  int rc = hookd::test::run_command(std::string(HOOKD_BINARY) + " --inbound-secret " + kOld +
                                        " --inbound-secret not-base64-rotation!! --data-dir "
                                        "/tmp/hookd-never-created",
                                    &out);
  INFO(out);
  CHECK(rc == 2);
  CHECK(out.find("--inbound-secret (number 2 of 2)") != std::string::npos);
  CHECK(out.find("not-base64-rotation") == std::string::npos);
  CHECK(out.find(kOld.substr(6)) == std::string::npos);
}
