// Reads need a token, on the real daemon: every route that returns stored
// data answers 401 without a token or with a wrong one, 200 with the admin
// token or an API token, and 403 naming the flags when none is configured.
// The probes stay open and show none of the tokens.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/support.h"

namespace json = boost::json;
using namespace hookd::test;

namespace {

const std::string kAdmin = "read-access-admin-token-7d1e";
const std::string kApi = "read-access-api-token-93ab";
const std::string kEventId = "evt_read_access_1";

std::string reason(const Reply& reply) {
  boost::system::error_code ec;
  json::value v = json::parse(reply.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return "(no JSON reason)";
  return std::string(v.at("error").as_string());
}

struct Route {
  const char* method;
  std::string target;
};

// Every read route, at a target that exists (so 200 is possible). HEAD,
// which the router sends to the GET route, is in route_access_test (the
// test client reads a body for every answer).
std::vector<Route> read_routes() {
  return {{"GET", "/v1/events/" + kEventId}, {"GET", "/v1/endpoints"}};
}

void post_event(unsigned short port) {
  json::object event{
      {"type", "session.open"}, {"id", kEventId}, {"payload", {{"user", "alice@example.com"}}}};
  REQUIRE(post_json(port, "/v1/events", json::serialize(event)).status == 202);
}

}  // namespace

TEST_CASE("every read route: no token 401, wrong token 401, admin or API token 200",
          "[security][access]") {
  TempDir dir;
  DaemonOptions options;
  options.args = {"--admin-token", kAdmin,
                  "--api-token",   kApi,
                  "--endpoint",    "name=f,url=file://" + (dir.path() / "out.ndjson").string()};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  post_event(port);

  for (const Route& route : read_routes()) {
    INFO(route.method << " " << route.target);
    Reply none = http(port, route.method, route.target);
    CHECK(none.status == 401);
    CHECK(none.headers["www-authenticate"].rfind("Bearer", 0) == 0);
    Reply wrong = http(port, route.method, route.target, "", bearer_auth("not-" + kAdmin));
    CHECK(wrong.status == 401);
    CHECK(http(port, route.method, route.target, "", {{"Authorization", kAdmin}}).status == 401);
    CHECK(
        http(port, route.method, route.target, "", {{"Authorization", "Basic " + kAdmin}}).status ==
        401);
    CHECK(http(port, route.method, route.target, "", bearer_auth(kAdmin)).status == 200);
    CHECK(http(port, route.method, route.target, "", bearer_auth(kApi)).status == 200);
    CHECK(reason(none).find("bearer token") != std::string::npos);
    CHECK(reason(wrong).find("bearer token") != std::string::npos);
  }
  // The stored event is really behind the gate: its payload comes back only with a token.
  Reply stored = http(port, "GET", "/v1/events/" + kEventId, "", bearer_auth(kApi));
  CHECK(stored.body.find("alice@example.com") != std::string::npos);
  CHECK(http(port, "GET", "/v1/events/" + kEventId).body.find("alice") == std::string::npos);
  // A token never reveals whether an id exists: unknown ids are 401 first.
  CHECK(http(port, "GET", "/v1/events/evt_not_there").status == 401);
  CHECK(http(port, "GET", "/v1/events/evt_not_there", "", bearer_auth(kApi)).status == 404);

  // Admin routes take the admin token only.
  const std::string replay = "/v1/endpoints/f/replay";
  CHECK(http(port, "POST", replay, "{}").status == 401);
  CHECK(http(port, "POST", replay, "{}", bearer_auth(kApi)).status == 401);
  CHECK(http(port, "POST", replay, "{}", bearer_auth(kAdmin)).status == 202);

  // The probes stay open and name no token.
  for (const char* probe : {"/healthz", "/readyz", "/metrics"}) {
    INFO(probe);
    Reply reply = http(port, "GET", probe);
    CHECK(reply.status == 200);
    CHECK(reply.body.find(kAdmin) == std::string::npos);
    CHECK(reply.body.find(kApi) == std::string::npos);
    CHECK(reply.body.find("alice@example.com") == std::string::npos);
  }
  CHECK(daemon.log().find(kAdmin) == std::string::npos);
  CHECK(daemon.log().find(kApi) == std::string::npos);
}

TEST_CASE("with no token configured every read route answers 403 naming the flags",
          "[security][access]") {
  Daemon daemon;
  const unsigned short port = daemon.port();
  post_event(port);
  for (const Route& route : read_routes()) {
    INFO(route.method << " " << route.target);
    Reply reply = http(port, route.method, route.target, "", bearer_auth("anything"));
    CHECK(reply.status == 403);
    CHECK(reply.headers["content-type"].rfind("application/json", 0) == 0);
    CHECK(reason(reply).find("--admin-token") != std::string::npos);
    CHECK(reason(reply).find("--api-token") != std::string::npos);
  }
  Reply admin = http(port, "POST", "/v1/endpoints/f/replay", "{}");
  CHECK(admin.status == 403);
  CHECK(reason(admin).find("--admin-token") != std::string::npos);
  CHECK(http(port, "GET", "/healthz").status == 200);
}

TEST_CASE("API tokens from HOOKD_API_TOKEN read as the flag's do", "[security][access]") {
  DaemonOptions options;
  options.env = {"HOOKD_API_TOKEN=first-api-token\nsecond-api-token"};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  post_event(port);
  const std::string target = "/v1/events/" + kEventId;
  CHECK(http(port, "GET", target, "", bearer_auth("first-api-token")).status == 200);
  CHECK(http(port, "GET", target, "", bearer_auth("second-api-token")).status == 200);
  CHECK(http(port, "GET", target, "", bearer_auth("third-api-token")).status == 401);
  // No admin token: API tokens never open the admin routes.
  CHECK(http(port, "POST", "/v1/endpoints/f/replay", "{}", bearer_auth("first-api-token")).status ==
        403);
}
