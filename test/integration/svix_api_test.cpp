// The Svix API (/api/v1) of the real daemon, driven by clients nobody here
// wrote: the official Svix JavaScript SDK (run by node) and the exact HTTP
// calls a Hoop gateway makes, with restarts and kill -9 in between, and the
// bad input a stranger can send.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "hookd/api/jwt.h"
#include "hookd/core/rfc3339.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::fixture;
using hookd::test::http;
using hookd::test::Reply;
using hookd::test::TempDir;

namespace {

const std::string kNode = "/usr/bin/node";
const std::string kSvixModule = HOOKD_SOURCE_DIR "/.peers/node_modules/svix/dist/index.mjs";
const std::string kDriver = HOOKD_SOURCE_DIR "/test/peers/svix_driver.mjs";
const std::string kToken = "hookd-test-token-1";
const std::string kJwtSecret = "svix-server-jwt-secret-for-tests";
const std::string kOrg = "8bfc995b-org0-4f15-8423-33f634865f14";

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers bearer(const std::string& token = kToken) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

Reply call(unsigned short port, const std::string& method, const std::string& target,
           const std::string& body = "", const Headers& headers = bearer()) {
  return http(port, method, target, body, headers);
}

json::object object_of(const Reply& reply) {
  INFO(reply.status << " " << reply.body);
  json::value value = json::parse(reply.body);
  REQUIRE(value.is_object());
  return value.as_object();
}

std::string str(const json::object& object, const char* key) {
  const json::value* value = object.if_contains(key);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

// An HS256 token as `svix-server jwt generate` issues it.
std::string svix_server_token(const std::string& secret) {
  std::int64_t now = hookd::now_unix_ms() / 1000;
  return hookd::api::sign_hs256_jwt(
      R"({"iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + 315360000) +
          R"(,"nbf":)" + std::to_string(now) +
          R"(,"iss":"svix-server","sub":"org_23rb8YdGqMT0qIzpgGwdXfHirMu"})",
      secret);
}

DaemonOptions api_daemon(const fs::path& data_dir = {}) {
  DaemonOptions options;
  options.args = {"--api-jwt-secret", kJwtSecret};
  options.env = {"HOOKD_API_TOKEN=" + kToken + "\nsecond-token"};
  options.data_dir = data_dir;
  return options;
}

int run_driver(unsigned short port, const std::string& token, const std::string& scenario,
               const fs::path& state, std::string& output) {
  auto quote = [](const std::string& s) { return "'" + s + "'"; };
  return hookd::test::run_command(
      "SVIX_MODULE=" + quote(kSvixModule) + " " + kNode + " " + quote(kDriver) + " " +
          quote("http://127.0.0.1:" + std::to_string(port)) + " " + quote(token) + " " + scenario +
          " " + quote(state.string()) + " 2>&1",
      &output);
}

}  // namespace

TEST_CASE("the official Svix JavaScript SDK manages apps, event types, endpoints and messages",
          "[svix_api][sdk]") {
  REQUIRE(fs::exists(kSvixModule));  // installed by tools/setup
  TempDir dir;
  Daemon daemon(api_daemon(dir.path() / "data"));
  fs::path state = dir.path() / "state.json";

  std::string output;
  int rc = run_driver(daemon.port(), kToken, "crud", state, output);
  INFO(output);
  INFO(daemon.log().substr(0, 4000));
  REQUIRE(rc == 0);

  SECTION("everything is there after a restart") {
    REQUIRE(daemon.terminate() == 0);
    daemon.restart();
    output.clear();
    rc = run_driver(daemon.port(), svix_server_token(kJwtSecret), "verify", state, output);
    INFO(output);
    CHECK(rc == 0);
  }
  SECTION("everything acknowledged is there after kill -9") {
    daemon.kill9();
    daemon.restart();
    output.clear();
    rc = run_driver(daemon.port(), kToken, "verify", state, output);
    INFO(output);
    CHECK(rc == 0);
  }
  // No secret ever reaches the log.
  CHECK(daemon.log().find("whsec_") == std::string::npos);
}

TEST_CASE("Hoop's gateway call sequence, trailing slashes and fixture bodies, as raw HTTP",
          "[svix_api][hoop]") {
  TempDir dir;
  Daemon daemon(api_daemon(dir.path() / "data"));
  const unsigned short port = daemon.port();
  // WEBHOOK_APPKEY is a token svix-server issued.
  const Headers key = bearer(svix_server_token(kJwtSecret));

  // 1. At start: the list of applications.
  Reply list = call(port, "GET", "/api/v1/app/", "", key);
  REQUIRE(list.status == 200);
  CHECK(json::parse(list.body) == json::parse(R"({"data":[],"iterator":null,
                                                    "prevIterator":null,"done":true})"));

  // 2. The organisation's application, created once.
  const std::string app_in = R"({"name":")" + kOrg.substr(0, 8) + R"(","uid":")" + kOrg + R"("})";
  Reply created = call(port, "POST", "/api/v1/app/?get_if_exists=true", app_in, key);
  REQUIRE(created.status == 201);
  json::object app = object_of(created);
  CHECK(str(app, "uid") == kOrg);
  CHECK(str(app, "name") == kOrg.substr(0, 8));
  CHECK(str(app, "id").rfind("app_", 0) == 0);
  Reply existing = call(port, "POST", "/api/v1/app/?get_if_exists=true", app_in, key);
  REQUIRE(existing.status == 200);
  CHECK(str(object_of(existing), "id") == str(app, "id"));
  Reply listed = call(port, "GET", "/api/v1/app/", "", key);
  CHECK(object_of(listed).at("data").as_array().size() == 1);

  // 3. Every event: a message to the application by its uid.
  std::vector<std::string> ids;
  for (const char* name :
       {"hoop-webhooks/session-open.message.json", "hoop-webhooks/session-close.message.json",
        "hoop-webhooks/microsoftteams.review.create.message.json"}) {
    CAPTURE(name);
    const std::string body = fixture(name);
    json::object in = json::parse(body).as_object();
    Reply sent = call(port, "POST", "/api/v1/app/" + kOrg + "/msg/", body, key);
    REQUIRE(sent.status == 202);
    json::object out = object_of(sent);
    CHECK(str(out, "eventId") == str(in, "eventId"));
    CHECK(str(out, "eventType") == str(in, "eventType"));
    CHECK(out.at("payload") == in.at("payload"));
    CHECK(hookd::parse_rfc3339(str(out, "timestamp")));
    const std::string id = str(out, "id");
    REQUIRE(id.rfind("msg_", 0) == 0);
    ids.push_back(id);

    // The message is an event of the journal: GET /v1/events finds it.
    Reply event = http(port, "GET", "/v1/events/" + id);
    REQUIRE(event.status == 200);
    json::object stored = object_of(event);
    CHECK(str(stored, "type") == str(in, "eventType"));
    CHECK(stored.at("payload") == in.at("payload"));

    // Gateways do not retry, but a repeated eventId is refused, not duplicated.
    Reply again = call(port, "POST", "/api/v1/app/" + kOrg + "/msg/", body, key);
    CHECK(again.status == 409);
    CHECK(str(object_of(again), "code") == "conflict");
  }

  daemon.kill9();
  daemon.restart();
  for (const char* event_id :
       {"3f0c8e52-9a41-4d57-b6e2-5c1d7a9e0b43", "b7d1e0a4-2c6f-4e83-9f15-8a0b3c4d5e6f"}) {
    Reply got =
        call(daemon.port(), "GET", "/api/v1/app/" + kOrg + "/msg/" + event_id + "/", "", key);
    REQUIRE(got.status == 200);
    CHECK(str(object_of(got), "eventId") == event_id);
  }
  Reply messages = call(daemon.port(), "GET", "/api/v1/app/" + kOrg + "/msg/", "", key);
  REQUIRE(messages.status == 200);
  json::object page = object_of(messages);
  const json::array& data = page.at("data").as_array();
  REQUIRE(data.size() == 3);
  CHECK(std::string(data[0].as_object().at("id").as_string()) == ids[2]);  // newest first
  CHECK(call(daemon.port(), "GET", "/api/v1/health/", "", {}).status == 204);
}

TEST_CASE("bad input gets a clear 4xx in Svix's shape, never a crash or a half-made object",
          "[svix_api][robustness]") {
  TempDir dir;
  Daemon daemon(api_daemon(dir.path() / "data"));
  const unsigned short port = daemon.port();
  Reply app = call(port, "POST", "/api/v1/app/", R"({"name":"a","uid":"org-1"})");
  REQUIRE(app.status == 201);
  REQUIRE(call(port, "POST", "/api/v1/event-type/", R"({"name":"a.b","description":"d"})").status ==
          201);

  struct Row {
    const char* what;
    std::string method, target, body;
    Headers headers;
    int status;
    std::string code;  // "" for 422 (validation)
  };
  const std::string many_types = [] {
    std::string out = R"({"url":"https://h.example/","filterTypes":[)";
    for (int i = 0; i < 5000; ++i)
      out += (i ? ",\"t.t" : "\"t.t") + std::to_string(i) + "\"";
    return out + "]}";
  }();
  const std::vector<Row> rows = {
      {"no token", "GET", "/api/v1/app/", "", {}, 401, "authentication_failed"},
      {"wrong token", "GET", "/api/v1/app/", "", bearer("nope"), 401, "authentication_failed"},
      {"basic auth",
       "GET",
       "/api/v1/app/",
       "",
       {{"Authorization", "Basic a2V5Og=="}},
       401,
       "authentication_failed"},
      {"jwt with another secret", "GET", "/api/v1/app/", "", bearer(svix_server_token("another")),
       401, "authentication_failed"},
      {"the second static token", "GET", "/api/v1/app/", "", bearer("second-token"), 200, ""},
      {"bad JSON", "POST", "/api/v1/app/", "{\"name\":", bearer(), 400, "bad_request"},
      {"not an object", "POST", "/api/v1/app/", "[1,2]", bearer(), 422, ""},
      {"name of the wrong type", "POST", "/api/v1/app/", R"({"name":5})", bearer(), 422, ""},
      {"uid with odd characters", "POST", "/api/v1/app/", R"({"name":"x","uid":"a/../b"})",
       bearer(), 422, ""},
      {"unknown app", "GET", "/api/v1/app/org-nope/", "", bearer(), 404, "not_found"},
      {"odd app id", "GET", "/api/v1/app/%2e%2e%00x/", "", bearer(), 404, "not_found"},
      {"quote in an app id", "GET", "/api/v1/app/a'%22;--/endpoint/", "", bearer(), 404,
       "not_found"},
      {"endpoint of an unknown app", "POST", "/api/v1/app/org-nope/endpoint/",
       R"({"url":"https://h.example/"})", bearer(), 404, "not_found"},
      {"unknown endpoint", "GET", "/api/v1/app/org-1/endpoint/ep_nope/", "", bearer(), 404,
       "not_found"},
      {"huge filterTypes", "POST", "/api/v1/app/org-1/endpoint/", many_types, bearer(), 422, ""},
      {"unknown filter type", "POST", "/api/v1/app/org-1/endpoint/",
       R"({"url":"https://h.example/","filterTypes":["x.y"]})", bearer(), 422, ""},
      {"invalid URL", "POST", "/api/v1/app/org-1/endpoint/", R"({"url":"http//nohost"})", bearer(),
       422, ""},
      {"javascript URL", "POST", "/api/v1/app/org-1/endpoint/", R"({"url":"javascript:x"})",
       bearer(), 422, ""},
      {"URL of the wrong type", "POST", "/api/v1/app/org-1/endpoint/", R"({"url":["x"]})", bearer(),
       422, ""},
      {"message without payload", "POST", "/api/v1/app/org-1/msg/", R"({"eventType":"a.b"})",
       bearer(), 422, ""},
      {"message to an unknown app", "POST", "/api/v1/app/org-nope/msg/",
       R"({"eventType":"a.b","payload":{}})", bearer(), 404, "not_found"},
      {"unknown message", "GET", "/api/v1/app/org-1/msg/msg_nope/", "", bearer(), 404, "not_found"},
      {"limit beyond 250", "GET", "/api/v1/app/?limit=251", "", bearer(), 422, ""},
      {"limit not a number", "GET", "/api/v1/app/?limit=ten", "", bearer(), 422, ""},
      {"iterator with odd characters", "GET", "/api/v1/app/?iterator=%00%ff", "", bearer(), 422,
       ""},
      {"order unknown", "GET", "/api/v1/app/?order=sideways", "", bearer(), 422, ""},
      {"before not a time", "GET", "/api/v1/app/org-1/msg/?before=yesterday", "", bearer(), 422,
       ""},
      {"event type name with a space", "PUT", "/api/v1/event-type/a%20b/", R"({"description":"d"})",
       bearer(), 422, ""},
      {"headers with a forbidden name", "POST", "/api/v1/app/org-1/endpoint/",
       R"({"url":"https://h.example/","headers":{"Host":"evil"}})", bearer(), 422, ""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.what);
    Reply reply = call(port, row.method, row.target, row.body, row.headers);
    INFO(reply.body);
    CHECK(reply.status == row.status);
    json::object body = object_of(reply);  // every answer is JSON the SDKs can parse
    if (row.status == 422) {
      CHECK(str(body, "code") == "validation");
      REQUIRE(body.at("detail").is_array());
      CHECK_FALSE(body.at("detail").as_array().empty());
    } else if (!row.code.empty()) {
      CHECK(str(body, "code") == row.code);
      CHECK(body.at("detail").is_string());
    }
  }
  REQUIRE(daemon.running());

  // Nothing half-made: one application, no endpoint, no message.
  CHECK(object_of(call(port, "GET", "/api/v1/app/")).at("data").as_array().size() == 1);
  CHECK(object_of(call(port, "GET", "/api/v1/app/org-1/endpoint/")).at("data").as_array().empty());
  CHECK(object_of(call(port, "GET", "/api/v1/app/org-1/msg/")).at("data").as_array().empty());
  CHECK((!fs::exists(daemon.data_dir() / "api" / "endpoints") ||
         fs::is_empty(daemon.data_dir() / "api" / "endpoints")));
}

TEST_CASE("with no token configured the API refuses everything", "[svix_api][auth]") {
  Daemon daemon;
  for (const char* target : {"/api/v1/app/", "/api/v1/event-type", "/api/v1/app/x/msg/"}) {
    CAPTURE(target);
    Reply reply = call(daemon.port(), "GET", target, "", bearer("anything"));
    CHECK(reply.status == 403);
    CHECK(str(object_of(reply), "code") == "forbidden");
  }
  Reply post = call(daemon.port(), "POST", "/api/v1/app/", R"({"name":"a"})", {});
  CHECK(post.status == 403);
  CHECK((!fs::exists(daemon.data_dir() / "api" / "apps") ||
         fs::is_empty(daemon.data_dir() / "api" / "apps")));
  // Health needs no credentials, as in svix-server.
  CHECK(call(daemon.port(), "GET", "/api/v1/health", "", {}).status == 204);
}
