#include "hookd/hooks/hoop_payload.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "support/support.h"

namespace json = boost::json;
using hookd::HookPayloadMode;

namespace {

json::value message_payload(const std::string& fixture_name) {
  return json::parse(hookd::test::fixture(fixture_name)).at("payload");
}

std::string event_id_of(const std::string& fixture_name) {
  return json::value_to<std::string>(json::parse(hookd::test::fixture(fixture_name)).at("eventId"));
}

json::value mapped(const json::value& payload, std::string_view event_id = "evt-1") {
  auto text = hookd::hoop_runbook_payload(json::serialize(payload), event_id);
  REQUIRE(text);
  return json::parse(*text);
}

}  // namespace

TEST_CASE("a Hoop session.open webhook payload maps onto the runbook hook shape") {
  const std::string name = "hoop-webhooks/session-open.message.json";
  json::value hook = mapped(message_payload(name), event_id_of(name));
  const json::object& h = hook.as_object();
  CHECK(h.at("id") == "3f0c8e52-9a41-4d57-b6e2-5c1d7a9e0b43");
  CHECK(h.at("sid") == "8bfc995b-4f15-483b-8423-33f634865f14");
  CHECK(h.at("command") == json::parse(R"(["psql","-v","ON_ERROR_STOP=1"])"));
  CHECK(h.at("input_file") == "");
  CHECK(h.at("event_session_close").is_null());
  const json::object& open = h.at("event_session_open").as_object();
  CHECK(open.at("verb") == "exec");
  CHECK(open.at("connection_name") == "pg-prod-readonly");
  CHECK(open.at("connection_type") == "database");
  CHECK(open.at("connection_subtype").is_null());
  CHECK(open.at("connection_envs") == json::parse(R"({"envvar:PGHOST":"","envvar:PGUSER":""})"));
  CHECK(open.at("connection_reviewers").is_null());
  CHECK(open.at("input") == "SELECT id, email FROM customers LIMIT 10;");
  CHECK(open.at("user_email") == "john.doe@example.com");
  CHECK(h.size() == 6);
  CHECK(open.size() == 8);
}

TEST_CASE("a Hoop session.close webhook payload maps exit_err to output") {
  const std::string name = "hoop-webhooks/session-close.message.json";
  json::value hook = mapped(message_payload(name), event_id_of(name));
  const json::object& h = hook.as_object();
  CHECK(h.at("id") == "b7d1e0a4-2c6f-4e83-9f15-8a0b3c4d5e6f");
  CHECK(h.at("sid") == "8bfc995b-4f15-483b-8423-33f634865f14");
  CHECK(h.at("command").is_null());
  CHECK(h.at("event_session_open").is_null());
  CHECK(h.at("event_session_close") ==
        json::parse(R"({"exit_code":1,"output":"ERROR:  permission denied for table customers"})"));
}

TEST_CASE("field variants of the webhook payload") {
  struct Case {
    const char* what;
    const char* webhook;
    const char* path;  // key in event_session_open, or "" for the close output
    const char* expected;
  };
  const Case cases[] = {
      {"input that is not base64 is kept as sent",
       R"({"event_type":"session.open","id":"s","input":"not base64!"})", "input",
       R"("not base64!")"},
      {"missing input is empty", R"({"event_type":"session.open","id":"s"})", "input", R"("")"},
      {"envs already an object are kept",
       R"({"event_type":"session.open","id":"s","connection_envs":{"A":"Yg=="}})",
       "connection_envs", R"({"A":"Yg=="})"},
      {"null envs stay null", R"({"event_type":"session.open","id":"s","connection_envs":null})",
       "connection_envs", "null"},
      {"reviewers when given", R"({"event_type":"session.open","connection_reviewers":["a"]})",
       "connection_reviewers", R"(["a"])"},
      {"null exit_err",
       R"({"event_type":"session.close","id":"s","exit_code":-100,"exit_err":null})", "", "null"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    json::value hook = mapped(json::parse(c.webhook));
    json::value got = *c.path ? hook.at("event_session_open").at(c.path)
                              : hook.at("event_session_close").at("output");
    CHECK(got == json::parse(c.expected));
  }
}

TEST_CASE("payloads that are not Hoop session webhooks pass as sent") {
  const char* not_mapped[] = {
      R"({"event_type":"dbroles.job.finished","id":"x"})",
      R"({"event_type":42})",
      R"({"sid":"s","event_session_open":null})",
      R"([1,2])",
      "not json",
  };
  for (const char* payload : not_mapped) {
    INFO(payload);
    CHECK_FALSE(hookd::hoop_runbook_payload(payload, "e"));
    CHECK(hookd::hook_payload_for(HookPayloadMode::hoop, payload, "e") == payload);
  }
  const std::string open =
      json::serialize(message_payload("hoop-webhooks/session-open.message.json"));
  CHECK(hookd::hook_payload_for(HookPayloadMode::raw, open, "e") == open);
  CHECK(hookd::hook_payload_for(HookPayloadMode::hoop, open, "e") != open);
}

TEST_CASE("only objects with a string event_type are Hoop webhook payloads") {
  CHECK(hookd::is_hoop_webhook_payload(R"({"event_type":"session.open"})"));
  CHECK(hookd::is_hoop_webhook_payload(json::serialize(
            message_payload("hoop-webhooks/microsoftteams.review.create.message.json"))) == false);
  CHECK_FALSE(hookd::is_hoop_webhook_payload(R"({"type":"session.open"})"));
  CHECK_FALSE(hookd::is_hoop_webhook_payload(R"({"event_type":null})"));
  CHECK_FALSE(hookd::is_hoop_webhook_payload("[]"));
}

TEST_CASE("input that decodes to bytes that are not UTF-8 still gives a valid JSON payload") {
  struct Case {
    const char* base64;
    const char* expected;  // JSON string
  };
  const Case cases[] = {
      {"6Q==", R"("\ufffd")"},            // Latin-1 e-acute
      {"Y2Fmw6k=", R"("caf\u00e9")"},     // UTF-8 is kept
      {"AAE=", R"("\u0000\u0001")"},      // controls are UTF-8 too
      {"8J+YgA==", R"("\ud83d\ude00")"},  // a four-byte sequence
  };
  for (const Case& c : cases) {
    INFO(c.base64);
    std::string webhook =
        std::string(R"({"event_type":"session.open","input":")") + c.base64 + "\"}";
    auto text = hookd::hoop_runbook_payload(webhook, "e");
    REQUIRE(text);
    json::error_code ec;
    json::value hook = json::parse(*text, ec);  // strict: refuses invalid UTF-8
    REQUIRE_FALSE(ec);
    CHECK(hook.at("event_session_open").at("input") == json::parse(c.expected));
  }
}
