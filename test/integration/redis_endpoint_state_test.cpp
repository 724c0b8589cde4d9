// With --queue an endpoint's state is every node's: dead letters given up on
// by one node are listed by all and replayed through any of them, each
// delivered once even when two nodes replay at the same moment; a 410 Gone
// that disabled the endpoint on one node disables it on all, and /enable on
// another node enables it everywhere. A restarted node keeps both. Real
// nodes, a real redis-server, real sinks.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/sink_process.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
namespace json = boost::json;

namespace {

const std::vector<std::pair<std::string, std::string>> kAdmin{
    {"Authorization", "Bearer hookd-test-admin"}};

std::unique_ptr<Daemon> node(const RedisServer& redis, const std::string& id,
                             unsigned short endpoint_port) {
  DaemonOptions o;
  o.args = {"--queue",
            redis.url(),
            "--node-id",
            id,
            "--admin-token",
            "hookd-test-admin",
            "--retry-schedule",
            "100ms,100ms",
            "--endpoint",
            "name=late,url=http://127.0.0.1:" + std::to_string(endpoint_port) + "/hook"};
  auto daemon = std::make_unique<Daemon>(o);
  REQUIRE(wait_until([&] { return http(daemon->port(), "GET", "/readyz").status == 200; },
                     std::chrono::seconds(30)));
  return daemon;
}

// The endpoint's object in GET /v1/endpoints; empty when there is none.
json::object endpoint(unsigned short port, const std::string& name) {
  Reply r = http(port, "GET", "/v1/endpoints", "", kAdmin);
  if (r.status != 200) return {};
  json::value list = json::parse(r.body);
  for (const auto& e : list.as_array()) {
    if (e.as_object().at("name").as_string() == name) return e.as_object();
  }
  return {};
}

std::int64_t dead_letters(unsigned short port) {
  auto e = endpoint(port, "late");
  return e.contains("dead_letters") ? e.at("dead_letters").as_int64() : -1;
}

bool disabled(unsigned short port) {
  auto e = endpoint(port, "late");
  return e.contains("state") && e.at("state").as_string() == "disabled";
}

void post_ids(unsigned short port, const std::vector<std::string>& ids) {
  for (const auto& id : ids)
    REQUIRE(post_json(port, "/v1/events", queue_event_body(id)).status == 202);
}

}  // namespace

TEST_CASE("dead letters one node gave up on are replayed through another and delivered once") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  const unsigned short sink_port = free_port();  // nothing listens yet: every attempt fails
  auto a = node(redis, "a", sink_port);
  INFO(a->log());
  auto ids = make_ids("dead-", 12);
  post_ids(a->port(), ids);
  REQUIRE(wait_until([&] { return dead_letters(a->port()) == 12; }));
  CHECK(redis.cli("HLEN hookd:dead-letters:endpoint:late") == "12");

  // A node that never tried them lists them, and a restarted node still does.
  auto b = node(redis, "b", sink_port);
  INFO(b->log());
  CHECK(wait_until([&] { return dead_letters(b->port()) == 12; }));
  a->terminate();
  a->restart();
  REQUIRE(wait_until([&] { return http(a->port(), "GET", "/readyz").status == 200; }));
  CHECK(wait_until([&] { return dead_letters(a->port()) == 12; }));

  // Both nodes replay at once: the entries are taken once between them.
  SinkProcess sink({}, sink_port);
  auto replay = [&](unsigned short port) {
    return std::async(std::launch::async, [port] {
      return http(port, "POST", "/v1/endpoints/late/replay", "", kAdmin);
    });
  };
  auto through_b = replay(b->port());
  auto through_a = replay(a->port());
  Reply rb = through_b.get(), ra = through_a.get();
  REQUIRE(rb.status == 202);
  REQUIRE(ra.status == 202);
  std::int64_t queued = json::parse(rb.body).as_object().at("dead_letters").as_int64() +
                        json::parse(ra.body).as_object().at("dead_letters").as_int64();
  CHECK(queued == 12);
  REQUIRE(wait_until([&] { return sink.delivered().size() == ids.size(); }));
  CHECK(wait_until([&] { return dead_letters(a->port()) == 0 && dead_letters(b->port()) == 0; }));
  // Nothing more arrives: every id exactly once.
  CHECK(wait_until(
      [&] { return redis.cli("XPENDING hookd:events endpoint:late").rfind("0", 0) == 0; }));
  for (const auto& [id, n] : sink.delivery_counts()) {
    INFO(id);
    CHECK(n == 1);
  }
  CHECK(redis.cli("HLEN hookd:dead-letters:endpoint:late") == "0");
  // A second replay finds nothing.
  Reply again = http(b->port(), "POST", "/v1/endpoints/late/replay", "", kAdmin);
  REQUIRE(again.status == 202);
  CHECK(json::parse(again.body).as_object().at("dead_letters").as_int64() == 0);
}

TEST_CASE("a replay asked while redis is down answers 503 with the reason") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  auto a = node(redis, "a", free_port());
  INFO(a->log());
  redis.kill9();
  Reply r;
  CHECK(wait_until([&] {
    r = http(a->port(), "POST", "/v1/endpoints/late/replay", "", kAdmin);
    return r.status == 503;
  }));
  CHECK(r.body.find("redis") != std::string::npos);
  CHECK(a->running());
}

TEST_CASE(
    "an endpoint a 410 disabled on one node is disabled on every node, enabled from another") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  auto gone = std::make_unique<SinkProcess>(std::vector<std::string>{"--gone"});
  const unsigned short sink_port = gone->port();
  auto a = node(redis, "a", sink_port);
  INFO(a->log());
  post_ids(a->port(), {"gone-1"});
  REQUIRE(wait_until([&] { return disabled(a->port()); }));

  // A node started later sees it.
  auto b = node(redis, "b", sink_port);
  INFO(b->log());
  REQUIRE(wait_until([&] { return disabled(b->port()); }));
  CHECK(endpoint(b->port(), "late").at("disabled_reason").as_string() ==
        "410 Gone from the endpoint");

  // Enabled through b while a is down: a's own file still says disabled,
  // but the newer change wins when it starts again, and it sends the event
  // it was holding.
  a->terminate();
  gone.reset();
  SinkProcess sink({}, sink_port);
  REQUIRE(http(b->port(), "POST", "/v1/endpoints/late/enable", "", kAdmin).status == 200);
  CHECK(!disabled(b->port()));
  a->restart();
  REQUIRE(wait_until([&] { return http(a->port(), "GET", "/readyz").status == 200; }));
  CHECK(wait_until([&] { return !disabled(a->port()); }));
  CHECK(wait_until([&] { return sink.delivered().count("gone-1") == 1; }));
}
