// GET /v1/endpoints with --queue: the counters, last answer and dead-letter
// count are every node's together (kept in Redis), so a node that delivered
// nothing answers the same figures as the node that did all the work. Real
// nodes on a real redis-server and a real sink.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
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

// name -> the endpoint's object in GET /v1/endpoints.
json::object endpoints(unsigned short port) {
  Reply r = http(port, "GET", "/v1/endpoints", "", kAdmin);
  json::object by_name;
  if (r.status != 200) return by_name;
  json::value list = json::parse(r.body);
  for (const auto& e : list.as_array())
    by_name[e.as_object().at("name").as_string()] = e;
  return by_name;
}

// The figures every node must agree on.
std::string shared_figures(const json::object& endpoint) {
  json::object figures;
  for (const char* field :
       {"delivered_total", "failed_total", "dead_letters", "last_error", "last_status"}) {
    if (auto it = endpoint.find(field); it != endpoint.end()) figures[field] = it->value();
  }
  return json::serialize(figures);
}

}  // namespace

TEST_CASE("every node answers the same endpoint counters as the node that delivered") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  SinkProcess sink;
  unsigned short nowhere = free_port();  // nothing listens: every attempt fails
  auto node = [&](const std::string& id) {
    DaemonOptions o;
    o.args = {"--queue",          redis.url(),
              "--node-id",        id,
              "--admin-token",    "hookd-test-admin",
              "--retry-schedule", "100ms,100ms",
              "--endpoint",       "name=a,url=" + sink.url(),
              "--endpoint",       "name=b,url=http://127.0.0.1:" + std::to_string(nowhere) + "/b"};
    return std::make_unique<Daemon>(o);
  };
  auto worker = node("worker");
  INFO(worker->log());
  REQUIRE(wait_until([&] { return http(worker->port(), "GET", "/readyz").status == 200; }));
  auto ids = make_ids("counted-", 20);
  for (const auto& id : ids)
    REQUIRE(post_json(worker->port(), "/v1/events", queue_event_body(id)).status == 202);
  // Every event delivered to a, and given up on b (three attempts each).
  REQUIRE(wait_until([&] {
    auto mine = endpoints(worker->port());
    return sink.delivered().size() == ids.size() && mine.contains("b") &&
           mine.at("b").as_object().at("dead_letters").as_int64() ==
               static_cast<std::int64_t>(ids.size());
  }));

  // A node that joins now delivers nothing of that, and shows it all.
  auto idle = node("idle");
  INFO(idle->log());
  REQUIRE(wait_until([&] { return http(idle->port(), "GET", "/readyz").status == 200; }));
  std::string theirs_a, theirs_b;
  auto same = [&] {
    auto mine = endpoints(worker->port());
    auto theirs = endpoints(idle->port());
    if (!mine.contains("a") || !theirs.contains("a") || !mine.contains("b") ||
        !theirs.contains("b")) {
      return false;
    }
    theirs_a = shared_figures(theirs.at("a").as_object());
    theirs_b = shared_figures(theirs.at("b").as_object());
    return shared_figures(mine.at("a").as_object()) == theirs_a &&
           shared_figures(mine.at("b").as_object()) == theirs_b;
  };
  CHECK(wait_until(same));
  INFO("idle node: a " << theirs_a << " b " << theirs_b);
  auto theirs = endpoints(idle->port());
  const auto& a = theirs.at("a").as_object();
  const auto& b = theirs.at("b").as_object();
  CHECK(a.at("delivered_total").as_int64() == static_cast<std::int64_t>(ids.size()));
  CHECK(a.at("failed_total").as_int64() == 0);
  CHECK(a.at("last_status").as_int64() >= 200);
  CHECK(b.at("delivered_total").as_int64() == 0);
  CHECK(b.at("failed_total").as_int64() > 0);  // requests, which may carry several events
  CHECK(b.at("dead_letters").as_int64() == static_cast<std::int64_t>(ids.size()));
  CHECK(b.at("last_error").is_string());
  // The dead letters themselves are in Redis, and the figure is their count.
  CHECK(redis.cli("HLEN hookd:dead-letters:endpoint:b") == std::to_string(ids.size()));
  CHECK(redis.cli("HGET hookd:tally:endpoint:b dead_letters") == std::to_string(ids.size()));
}
