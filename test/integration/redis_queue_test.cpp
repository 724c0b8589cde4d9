// Several hookd nodes on one real redis-server (--queue): the load is shared,
// every accepted event is hooked and delivered to every endpoint, a node
// killed mid-load has its entries taken over, a Redis restart loses nothing
// acknowledged (ingest answers 503 meanwhile), and one id posted to two
// nodes at once is one event. Duplicates are counted and reported: the
// promise is at least once.
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/sink_process.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
namespace fs = std::filesystem;

TEST_CASE("three nodes on one redis hook every event once and deliver it to every endpoint") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  Cluster cluster(3, "10s");
  cluster.wait_ready();
  auto ids = make_ids("load-", 600);
  auto statuses = post_all(ids, [&](std::size_t i) { return cluster.nodes[i % 3]->port(); });
  auto ok = accepted(statuses);
  REQUIRE(ok.size() == ids.size());
  INFO(cluster.logs());
  REQUIRE(wait_until([&] { return cluster.all_done(ok); }, std::chrono::seconds(120)));
  // Every node did a share of the hooks (each reads its own entries).
  std::size_t hook_dups = duplicates(cluster.hook_counts());
  std::size_t a_dups = duplicates(cluster.sink_a.delivery_counts());
  std::size_t b_dups = duplicates(cluster.sink_b.delivery_counts());
  WARN("duplicates with no failure: hooks " << hook_dups << ", endpoint a " << a_dups
                                            << ", endpoint b " << b_dups);
  CHECK(hook_dups == 0);
  CHECK(a_dups == 0);
  CHECK(b_dups == 0);
  // All acknowledged: nothing pending in any group.
  for (const char* group : {"hooks", "endpoint:a", "endpoint:b"}) {
    INFO(group);
    CHECK(wait_until([&] {
      return cluster.redis.cli(std::string("XPENDING hookd:events ") + group + " - + 1").empty();
    }));
  }
}

TEST_CASE("a node killed mid-load has its pending entries taken over by the others") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  // A slow sink keeps entries pending on every node when node 3 dies.
  Cluster cluster(3, "3s", {"--delay-ms", "200"});
  cluster.wait_ready();
  auto first = make_ids("before-", 300);
  auto statuses = post_all(first, [&](std::size_t i) { return cluster.nodes[i % 3]->port(); });
  REQUIRE(accepted(statuses).size() == first.size());
  // Node 3 was handed a third of each group's entries; some still wait.
  REQUIRE(wait_until(
      [&] { return !cluster.redis.cli("XPENDING hookd:events endpoint:a - + 1 node3").empty(); }));
  cluster.nodes[2]->kill9();
  auto second = make_ids("after-", 150);
  auto more = post_all(second, [&](std::size_t i) { return cluster.nodes[i % 2]->port(); });
  statuses.insert(more.begin(), more.end());
  auto ok = accepted(statuses);
  REQUIRE(ok.size() == first.size() + second.size());
  INFO(cluster.logs());
  REQUIRE(wait_until([&] { return cluster.all_done(ok); }, std::chrono::seconds(120)));
  for (const char* group : {"hooks", "endpoint:a", "endpoint:b"}) {
    INFO(group);
    CHECK(
        cluster.redis.cli(std::string("XPENDING hookd:events ") + group + " - + 1 node3").empty());
  }
  CHECK(cluster.logs().find("redis entries claimed from idle consumers") != std::string::npos);
  WARN("duplicates after kill -9 of one node: hooks "
       << duplicates(cluster.hook_counts()) << ", endpoint a "
       << duplicates(cluster.sink_a.delivery_counts()) << ", endpoint b "
       << duplicates(cluster.sink_b.delivery_counts()));
}

TEST_CASE("a redis restart mid-load loses nothing acknowledged and ingest answers 503 meanwhile") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  Cluster cluster(2, "10s");
  check_redis_restart_mid_load(cluster);
}

TEST_CASE("the same id posted to two nodes at once is one event") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  Cluster cluster(2, "10s");
  cluster.wait_ready();
  auto ids = make_ids("twice-", 60);
  std::map<std::string, int> first;
  std::map<std::string, int> second;
  std::thread a([&] {
    first = post_all(
        ids, [&](std::size_t) { return cluster.nodes[0]->port(); }, 1);
  });
  std::thread b([&] {
    second = post_all(
        ids, [&](std::size_t) { return cluster.nodes[1]->port(); }, 1);
  });
  a.join();
  b.join();
  std::set<std::string> all(ids.begin(), ids.end());
  for (const auto& id : ids) {
    INFO(id << ": " << first[id] << " and " << second[id]);
    CHECK(((first[id] == 202 && second[id] == 200) || (first[id] == 200 && second[id] == 202)));
  }
  INFO(cluster.logs());
  REQUIRE(wait_until([&] { return cluster.all_done(all); }, std::chrono::seconds(60)));
  auto hooked = cluster.hook_counts();
  auto delivered = cluster.sink_a.delivery_counts();
  for (const auto& id : ids) {
    INFO(id);
    CHECK(hooked[id] == 1);
    CHECK(delivered[id] == 1);
  }
}

TEST_CASE("an entry handed out more than max-deliveries times goes to the dead-letter stream") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  TempDir out;
  // A consumer that took the entry and died, again and again: the entry is
  // pending with a delivery count of 5 (XCLAIM's RETRYCOUNT sets it).
  REQUIRE(redis.cli("XGROUP CREATE hookd:events endpoint:a $ MKSTREAM") == "OK");
  std::string body =
      R"({"id":"poison","type":"test.ping","timestamp":"2026-01-01T00:00:00Z","payload":{}})";
  std::string id = redis.cli("XADD hookd:events '*' e '" + body + "' a 0 m ''");
  REQUIRE(!redis.cli("XREADGROUP GROUP endpoint:a ghost COUNT 1 STREAMS hookd:events '>'").empty());
  redis.cli("XCLAIM hookd:events endpoint:a ghost 0 " + id + " RETRYCOUNT 5 JUSTID");
  SinkProcess sink;
  DaemonOptions o;
  o.args = {
      "--queue",          redis.url(),
      "--claim-idle",     "1s",
      "--max-deliveries", "3",
      "--endpoint",       "name=a,url=http://127.0.0.1:" + std::to_string(sink.port()) + "/a"};
  Daemon node(o);
  INFO(node.log());
  REQUIRE(wait_until([&] { return redis.cli("XLEN hookd:dead") == "1"; }));
  std::string dead = redis.cli("XRANGE hookd:dead - +");
  CHECK(dead.find("endpoint:a") != std::string::npos);
  CHECK(dead.find(id) != std::string::npos);
  CHECK(dead.find("\"id\":\"poison\"") != std::string::npos);
  // Acknowledged in its group, never delivered; the group goes on.
  CHECK(redis.cli("XPENDING hookd:events endpoint:a - + 1").empty());
  Reply r = post_json(node.port(), "/v1/events", queue_event_body("after-poison"));
  REQUIRE(r.status == 202);
  REQUIRE(wait_until([&] { return sink.delivered().count("after-poison") == 1; }));
  CHECK(sink.delivered().count("poison") == 0);
}

TEST_CASE("with --queue-require-aof always a redis that fsyncs every second gets no events") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  REQUIRE(redis.cli("CONFIG SET appendfsync everysec") == "OK");
  DaemonOptions o;
  o.args = {"--queue", redis.url(), "--queue-require-aof", "always"};
  o.env = {"HOOKD_QUEUE_PASSWORD="};
  Daemon node(o);
  INFO(node.log());
  REQUIRE(wait_until([&] { return node.log().find("redis queue ready") != std::string::npos; }));
  Reply ready = http(node.port(), "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("appendfsync everysec") != std::string::npos);
  Reply r = post_json(node.port(), "/v1/events", queue_event_body("refused"));
  CHECK(r.status == 503);
  CHECK(r.headers.count("retry-after") == 1);
  CHECK(redis.cli("XLEN hookd:events") == "0");
}

TEST_CASE("the redis password is taken from HOOKD_QUEUE_PASSWORD and never logged") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  const std::string password = "q-secret-4711";
  REQUIRE(redis.cli("CONFIG SET requirepass " + password) == "OK");
  DaemonOptions o;
  o.args = {"--queue", redis.url()};
  o.env = {"HOOKD_QUEUE_PASSWORD=" + password};
  Daemon node(o);
  INFO(node.log());
  REQUIRE(wait_until([&] { return http(node.port(), "GET", "/readyz").status == 200; }));
  Reply r = post_json(node.port(), "/v1/events", queue_event_body("authed"));
  CHECK(r.status == 202);
  CHECK(redis.cli("-a " + password + " --no-auth-warning XLEN hookd:events") == "1");

  DaemonOptions wrong;
  wrong.args = {"--queue",
                "redis://:not-" + password + "@127.0.0.1:" + std::to_string(redis.port())};
  Daemon refused(wrong);
  REQUIRE(wait_until([&] { return refused.log().find("AUTH") != std::string::npos; }));
  Reply not_ready = http(refused.port(), "GET", "/readyz");
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body.find("WRONGPASS") != std::string::npos);
  CHECK(node.log().find(password) == std::string::npos);
  CHECK(refused.log().find(password) == std::string::npos);
  CHECK(http(node.port(), "GET", "/readyz").body.find(password) == std::string::npos);
}
