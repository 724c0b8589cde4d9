// --admin-listen on the real daemon, over real sockets: the probes, /metrics
// and the token routes move to the admin socket, and the main listener keeps
// only what senders need (POST /v1/events and the Svix API); each answers
// 404 for the other's routes.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "support/support.h"

namespace json = boost::json;
using namespace hookd::test;

namespace {

const std::string kAdmin = "admin-listener-admin-token";
const std::string kApi = "admin-listener-api-token";

std::string event_json(const std::string& id) {
  return json::serialize(json::object{
      {"type", "session.open"}, {"id", id}, {"payload", {{"user", "alice@example.com"}}}});
}

}  // namespace

TEST_CASE("admin-listen splits the routes between two sockets", "[security][admin-listen]") {
  const unsigned short admin_port = free_port();
  DaemonOptions options;
  options.args = {"--admin-listen", "127.0.0.1:" + std::to_string(admin_port),
                  "--admin-token",  kAdmin,
                  "--api-token",    kApi};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  REQUIRE(port != admin_port);
  REQUIRE(wait_until([&] { return port_open(admin_port); }));
  // The start-up line names both ports.
  CHECK(std::regex_search(daemon.log(),
                          std::regex("\"admin_port\":" + std::to_string(admin_port) + "\\b")));

  // Ingest and the Svix API on the main listener.
  REQUIRE(post_json(port, "/v1/events", event_json("evt_admin_split")).status == 202);
  Reply app =
      post_json(port, "/api/v1/app/", R"({"name":"split","uid":"split"})", bearer_auth(kApi));
  INFO(app.body);
  CHECK(app.status == 201);
  CHECK(http(port, "GET", "/api/v1/app/split/", "", bearer_auth(kApi)).status == 200);

  // Nothing else there, token or not.
  for (const char* target :
       {"/healthz", "/readyz", "/metrics", "/v1/events/evt_admin_split", "/v1/endpoints"}) {
    INFO("main " << target);
    CHECK(http(port, "GET", target, "", bearer_auth(kAdmin)).status == 404);
  }
  CHECK(post_json(port, "/v1/endpoints/x/replay", "{}", bearer_auth(kAdmin)).status == 404);

  // The admin listener: probes and metrics open, reads behind the token.
  for (const char* probe : {"/healthz", "/readyz", "/metrics"}) {
    INFO("admin " << probe);
    CHECK(http(admin_port, "GET", probe).status == 200);
  }
  const std::string target = "/v1/events/evt_admin_split";
  CHECK(http(admin_port, "GET", target).status == 401);
  CHECK(http(admin_port, "GET", target, "", bearer_auth("wrong")).status == 401);
  Reply stored = http(admin_port, "GET", target, "", bearer_auth(kAdmin));
  CHECK(stored.status == 200);
  CHECK(stored.body.find("alice@example.com") != std::string::npos);
  CHECK(http(admin_port, "GET", target, "", bearer_auth(kApi)).status == 200);
  CHECK(http(admin_port, "GET", "/v1/endpoints", "", bearer_auth(kAdmin)).status == 200);
  // Ingest and the Svix API are not served there.
  CHECK(post_json(admin_port, "/v1/events", event_json("evt_admin_other")).status == 404);
  CHECK(http(admin_port, "GET", "/api/v1/app/split/", "", bearer_auth(kApi)).status == 404);
  // The ingest counter is on the admin side's /metrics.
  CHECK(http(admin_port, "GET", "/metrics").body.find("hookd_events_accepted_total") !=
        std::string::npos);

  // SIGTERM drains both listeners and exits 0.
  CHECK(daemon.terminate() == 0);
  CHECK_FALSE(port_open(admin_port));
  CHECK_FALSE(port_open(port));
}

TEST_CASE("without --admin-listen one listener serves every route", "[security][admin-listen]") {
  DaemonOptions options;
  options.args = {"--admin-token", kAdmin};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  REQUIRE(post_json(port, "/v1/events", event_json("evt_one_listener")).status == 202);
  CHECK(http(port, "GET", "/healthz").status == 200);
  CHECK(http(port, "GET", "/metrics").status == 200);
  CHECK(http(port, "GET", "/v1/events/evt_one_listener", "", bearer_auth(kAdmin)).status == 200);
  CHECK(std::regex_search(daemon.log(), std::regex("\"admin_port\":0\\b")));
}
