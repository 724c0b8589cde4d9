// verify_with_any: a request signed by any one of the configured secrets
// passes, so a sender can move to a new secret without a gap.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/core/signature.h"

using hookd::verify_with_any;
using hookd::WebhookSecret;

namespace {

WebhookSecret secret(const std::string& text) {
  auto parsed = WebhookSecret::parse(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

const std::string kOld = "whsec_b2xkLXNlY3JldC1yb3RhdGlvbi0x";
const std::string kNew = "whsec_bmV3LXNlY3JldC1yb3RhdGlvbi0y";
const std::string kOther = "whsec_b3RoZXItc2VjcmV0LXVua25vd24z";
constexpr std::int64_t kNow = 1700000000;
const std::string kBody = R"({"type":"session.open","payload":{}})";

}  // namespace

TEST_CASE("verify_with_any accepts a signature by any configured secret", "[signature]") {
  const std::vector<WebhookSecret> configured = {secret(kOld), secret(kNew)};
  const std::string ts = std::to_string(kNow);
  struct Row {
    std::string signature_header;
    bool accepted;
  };
  const std::string by_old = secret(kOld).sign("msg_1", kNow, kBody);
  const std::string by_new = secret(kNew).sign("msg_1", kNow, kBody);
  const std::string by_other = secret(kOther).sign("msg_1", kNow, kBody);
  const std::vector<Row> rows = {
      {by_old, true},
      {by_new, true},
      {by_other, false},
      {by_other + " " + by_new, true},  // several entries, one matches
      {by_other + " " + by_other, false},
  };
  for (const auto& row : rows) {
    INFO(row.signature_header);
    CHECK(verify_with_any(configured, "msg_1", ts, row.signature_header, kBody, kNow).ok() ==
          row.accepted);
  }
}

TEST_CASE("verify_with_any reports the first secret's reason, and nothing matches no secret",
          "[signature]") {
  const std::vector<WebhookSecret> configured = {secret(kOld), secret(kNew)};
  const std::string signature = secret(kNew).sign("msg_1", kNow - 3600, kBody);
  auto stale =
      verify_with_any(configured, "msg_1", std::to_string(kNow - 3600), signature, kBody, kNow);
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().message == "timestamp too old");

  auto wrong = verify_with_any(configured, "msg_1", std::to_string(kNow),
                               secret(kOther).sign("msg_1", kNow, kBody), kBody, kNow);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == "no matching signature");

  CHECK_FALSE(verify_with_any({}, "msg_1", std::to_string(kNow),
                              secret(kOld).sign("msg_1", kNow, kBody), kBody, kNow)
                  .ok());
}
