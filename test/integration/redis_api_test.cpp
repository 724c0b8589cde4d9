// The Svix API's objects with --queue live in Redis: three real nodes on
// one real redis-server serve the same applications and endpoints, and an
// endpoint created through one node's /api/v1 is delivered to by all of
// them (a real sink receives every message posted through the others). An
// API endpoint's dead letters are every node's (recovered through a node
// that never tried them), and GET /v1/events/{id} shows every node's
// attempts, the same on each node. Messages made through any node are
// listed and got alike on every node, also one started after them.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hookd/core/rfc3339.h"
#include "hookd/daemon/redis_object_backing.h"
#include "hookd/queue/redis_url.h"
#include "support/redis_server.h"
#include "support/sink_process.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
namespace json = boost::json;

namespace {

const std::string kToken = "hookd-test-api-token";

Reply api(unsigned short port, const std::string& method, const std::string& target,
          const std::string& body = "") {
  return http(port, method, target, body,
              {{"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}});
}

std::unique_ptr<Daemon> api_node(const RedisServer& redis, const std::string& id,
                                 std::vector<std::string> extra = {}) {
  DaemonOptions o;
  o.args = {"--queue", redis.url(), "--node-id", id, "--api-token", kToken};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  auto daemon = std::make_unique<Daemon>(o);
  REQUIRE(wait_until([&] { return http(daemon->port(), "GET", "/readyz").status == 200; },
                     std::chrono::seconds(30)));
  return daemon;
}

// App "shop" and its endpoint "siem" at `url`, through `port`; the endpoint's id.
std::string shop_endpoint(unsigned short port, const std::string& url) {
  REQUIRE(api(port, "POST", "/api/v1/app/", R"({"name":"Shop","uid":"shop"})").status == 201);
  Reply endpoint = api(port, "POST", "/api/v1/app/shop/endpoint/",
                       json::serialize(json::object{{"url", url}, {"uid", "siem"}}));
  REQUIRE(endpoint.status == 201);
  return json::parse(endpoint.body).as_object().at("id").as_string().c_str();
}

std::vector<std::string> post_messages(unsigned short port, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    Reply msg = api(port, "POST", "/api/v1/app/shop/msg/",
                    R"({"eventType":"test.ping","payload":{"n":)" + std::to_string(i) + "}}");
    REQUIRE(msg.status == 202);
    ids.push_back(json::parse(msg.body).as_object().at("id").as_string().c_str());
  }
  return ids;
}

Reply recover(unsigned short port) {
  std::string since = hookd::format_rfc3339(hookd::now_unix_ms() - 3600 * 1000);
  return api(port, "POST", "/api/v1/app/shop/endpoint/siem/recover/",
             R"({"since":")" + since + "\"}");
}

// What GET /v1/events/{id} shows for API endpoint `endpoint`; null when nothing.
json::value event_delivery(unsigned short port, const std::string& id,
                           const std::string& endpoint) {
  Reply r = http(port, "GET", "/v1/events/" + id, "", {{"Authorization", "Bearer " + kToken}});
  if (r.status != 200) return nullptr;
  json::value status = json::parse(r.body);
  auto view = status.as_object().if_contains("api_deliveries");
  auto mine = view && view->is_object() ? view->as_object().if_contains(endpoint) : nullptr;
  return mine ? *mine : json::value(nullptr);
}

std::string state_of(const json::value& delivery) {
  return delivery.is_object() ? std::string(delivery.at("state").as_string()) : std::string();
}

}  // namespace

TEST_CASE("an endpoint created through one node's api is served and delivered to by every node") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  SinkProcess sink;
  std::vector<std::unique_ptr<Daemon>> nodes;
  for (int i = 1; i <= 3; ++i) {
    DaemonOptions o;
    o.args = {"--queue",     redis.url(), "--node-id", "node" + std::to_string(i),
              "--api-token", kToken};
    nodes.push_back(std::make_unique<Daemon>(o));
  }
  auto logs = [&] {
    std::string all;
    for (std::size_t n = 0; n < nodes.size(); ++n)
      all += "--- node " + std::to_string(n + 1) + "\n" + nodes[n]->log();
    return all;
  };
  for (auto& node : nodes) {
    INFO(node->log());
    REQUIRE(wait_until([&] { return http(node->port(), "GET", "/readyz").status == 200; },
                       std::chrono::seconds(30)));
  }
  unsigned short a = nodes[0]->port(), b = nodes[1]->port(), c = nodes[2]->port();
  INFO(logs());

  Reply app = api(a, "POST", "/api/v1/app/", R"({"name":"Shop","uid":"shop"})");
  REQUIRE(app.status == 201);
  Reply endpoint = api(a, "POST", "/api/v1/app/shop/endpoint/",
                       json::serialize(json::object{{"url", sink.url()}, {"uid", "siem"}}));
  REQUIRE(endpoint.status == 201);
  std::string endpoint_id = json::parse(endpoint.body).as_object().at("id").as_string().c_str();

  // Every node learns of it (the version counter, polled).
  for (unsigned short port : {b, c}) {
    INFO("port " << port);
    REQUIRE(wait_until(
        [&] { return api(port, "GET", "/api/v1/app/shop/endpoint/siem/").status == 200; }));
  }
  Reply through_c = api(c, "GET", "/api/v1/app/shop/endpoint/" + endpoint_id + "/");
  REQUIRE(through_c.status == 200);
  CHECK(json::parse(through_c.body).as_object().at("url").as_string() == sink.url());
  CHECK(api(b, "GET", "/api/v1/app/").body.find("\"uid\":\"shop\"") != std::string::npos);

  // Messages through B and C; the endpoint's group is shared, so whichever
  // node reads an entry delivers it.
  std::set<std::string> ids;
  for (int i = 0; i < 30; ++i) {
    unsigned short port = i % 2 == 0 ? b : c;
    Reply msg = api(port, "POST", "/api/v1/app/shop/msg/",
                    R"({"eventType":"test.ping","payload":{"n":)" + std::to_string(i) + "}}");
    REQUIRE(msg.status == 202);
    ids.insert(json::parse(msg.body).as_object().at("id").as_string().c_str());
  }
  REQUIRE(wait_until(
      [&] {
        auto delivered = sink.delivered();
        for (const auto& id : ids)
          if (delivered.count(id) == 0) return false;
        return true;
      },
      std::chrono::seconds(60)));
  std::size_t extra = 0;
  for (const auto& [id, n] : sink.delivery_counts())
    extra += n > 1 ? static_cast<std::size_t>(n - 1) : 0;
  WARN("api endpoint on three nodes: " << ids.size() << " messages, " << extra << " duplicates");

  // A change through another node reaches all: disabled through C, A shows it.
  Reply patched = api(c, "PATCH", "/api/v1/app/shop/endpoint/siem/", R"({"disabled":true})");
  REQUIRE(patched.status == 200);
  CHECK(wait_until([&] {
    Reply r = api(a, "GET", "/api/v1/app/shop/endpoint/siem/");
    return r.status == 200 && r.body.find("\"disabled\":true") != std::string::npos;
  }));
  // Deleted through B: gone everywhere.
  REQUIRE(api(b, "DELETE", "/api/v1/app/shop/endpoint/siem/").status == 204);
  CHECK(wait_until([&] { return api(a, "GET", "/api/v1/app/shop/endpoint/siem/").status == 404; }));
  CHECK(api(c, "GET", "/api/v1/app/shop/endpoint/siem/").status == 404);
}

TEST_CASE("a new api endpoint's consumer group is made with its object, at the stream's end") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  auto url = hookd::parse_redis_url(redis.url());
  REQUIRE(url);
  hookd::RedisObjectBacking backing(*url, nullptr, "hookd:", "api:", std::chrono::seconds(5));
  std::string before = redis.cli("XADD hookd:events '*' e before");
  // A node of an older life made the group of ep_old already: left alone.
  REQUIRE(redis.cli("XGROUP CREATE hookd:events api:ep_old 0") == "OK");

  REQUIRE(backing.apply({{"endpoints/ep_new.json", R"({"id":"ep_new"})", false},
                         {"endpoints/ep_old.json", R"({"id":"ep_old"})", false},
                         {"apps/app_1.json", R"({"id":"app_1"})", false}}));
  auto group_position = [&](const std::string& group) {
    return redis.cli("--no-raw XINFO GROUPS hookd:events | grep -A7 '\"" + group +
                     "\"' | grep -A1 last-delivered-id | tail -1");
  };
  CHECK(group_position("api:ep_new").find(before) != std::string::npos);
  CHECK(group_position("api:ep_old").find("\"0-0\"") != std::string::npos);
  CHECK(redis.cli("XINFO GROUPS hookd:events").find("api:app_1") == std::string::npos);

  // Written again (an update): the group keeps its place, so nothing
  // appended meanwhile is skipped.
  std::string after = redis.cli("XADD hookd:events '*' e after");
  REQUIRE(backing.apply({{"endpoints/ep_new.json", R"({"id":"ep_new","v":2})", false}}));
  CHECK(group_position("api:ep_new").find(before) != std::string::npos);
  std::string read =
      redis.cli("XREADGROUP GROUP api:ep_new node1 COUNT 10 STREAMS hookd:events '>'");
  CHECK(read.find(after) != std::string::npos);
  CHECK(read.find(before) == std::string::npos);
}

TEST_CASE("attempts one node made are listed by every node's api, also after a restart") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  SinkProcess sink;
  auto node = [&](const std::string& id) {
    DaemonOptions o;
    o.args = {"--queue", redis.url(), "--node-id", id, "--api-token", kToken};
    auto daemon = std::make_unique<Daemon>(o);
    REQUIRE(wait_until([&] { return http(daemon->port(), "GET", "/readyz").status == 200; },
                       std::chrono::seconds(30)));
    return daemon;
  };
  // Only a exists while the message is delivered: every attempt is a's.
  auto a = node("a");
  INFO(a->log());
  REQUIRE(api(a->port(), "POST", "/api/v1/app/", R"({"name":"Shop","uid":"shop"})").status == 201);
  REQUIRE(api(a->port(), "POST", "/api/v1/app/shop/endpoint/",
              json::serialize(json::object{{"url", sink.url()}, {"uid", "siem"}}))
              .status == 201);
  Reply msg = api(a->port(), "POST", "/api/v1/app/shop/msg/",
                  R"({"eventType":"test.ping","payload":{"n":1}})");
  REQUIRE(msg.status == 202);
  std::string msg_id = json::parse(msg.body).as_object().at("id").as_string().c_str();
  REQUIRE(wait_until([&] { return sink.delivered().count(msg_id) == 1; }));

  auto listed = [&](unsigned short port, const std::string& target) {
    Reply r = api(port, "GET", target);
    if (r.status != 200) return json::array{};
    return json::parse(r.body).as_object().at("data").as_array();
  };
  const std::string by_msg = "/api/v1/app/shop/attempt/msg/" + msg_id + "/";
  const std::string by_endpoint = "/api/v1/app/shop/attempt/endpoint/siem/";
  REQUIRE(wait_until([&] { return listed(a->port(), by_msg).size() == 1; }));
  std::string attempt_a = json::serialize(listed(a->port(), by_msg)[0]);

  auto b = node("b");
  INFO(b->log());
  CHECK(wait_until([&] { return listed(b->port(), by_msg).size() == 1; }));
  auto theirs = listed(b->port(), by_msg);
  REQUIRE(theirs.size() == 1);
  CHECK(json::serialize(theirs[0]) == attempt_a);
  CHECK(theirs[0].as_object().at("responseStatusCode").as_int64() / 100 == 2);
  CHECK(listed(b->port(), by_endpoint).size() == 1);

  // Restarted, b lists it still, and only once.
  b->terminate();
  b->restart();
  REQUIRE(wait_until([&] { return http(b->port(), "GET", "/readyz").status == 200; }));
  CHECK(wait_until([&] { return listed(b->port(), by_msg).size() == 1; }));
  CHECK(listed(b->port(), by_endpoint).size() == 1);
  CHECK(redis.cli("XLEN hookd:attempts") == "1");
}

TEST_CASE("an api endpoint's dead letters are recovered through a node that never tried them") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  const unsigned short sink_port = free_port();  // nothing listens yet: every attempt fails
  const std::vector<std::string> retries{"--retry-schedule", "100ms,100ms"};
  // Only a exists while the messages fail: every dead letter is a's.
  auto a = api_node(redis, "a", retries);
  INFO(a->log());
  const std::string endpoint_id =
      shop_endpoint(a->port(), "http://127.0.0.1:" + std::to_string(sink_port) + "/hook");
  const std::string list = "hookd:dead-letters:api:" + endpoint_id;
  auto ids = post_messages(a->port(), 5);
  REQUIRE(wait_until([&] { return redis.cli("HLEN " + list) == "5"; }));
  for (const auto& id : ids)
    CHECK(redis.cli("HEXISTS " + list + " " + id) == "1");

  // b starts, a stops: only b can send, and b has no dead letter of its own.
  auto b = api_node(redis, "b", retries);
  INFO(b->log());
  REQUIRE(wait_until(
      [&] { return api(b->port(), "GET", "/api/v1/app/shop/endpoint/siem/").status == 200; }));
  a->terminate();
  SinkProcess sink({}, sink_port);
  Reply recovered = recover(b->port());
  REQUIRE(recovered.status == 202);
  REQUIRE(wait_until([&] { return sink.delivered().size() == ids.size(); }));
  for (const auto& id : ids)
    CHECK(sink.delivered().count(id) == 1);
  CHECK(wait_until([&] { return redis.cli("HLEN " + list) == "0"; }));
  CHECK(wait_until(
      [&] { return redis.cli("XPENDING hookd:events api:" + endpoint_id).rfind("0", 0) == 0; }));
  for (const auto& [id, n] : sink.delivery_counts()) {
    INFO(id);
    CHECK(n == 1);
  }

  // One more dead letter, then the endpoint is deleted: its list goes too.
  sink.stop();
  auto late = post_messages(b->port(), 1);
  REQUIRE(wait_until([&] { return redis.cli("HLEN " + list) == "1"; }));
  REQUIRE(api(b->port(), "DELETE", "/api/v1/app/shop/endpoint/siem/").status == 204);
  CHECK(wait_until([&] { return redis.cli("EXISTS " + list) == "0"; }));
}

TEST_CASE("GET /v1/events/{id} shows every node's attempts of an api message, alike on each") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  const unsigned short sink_port = free_port();  // nothing listens yet: every attempt fails
  const std::vector<std::string> flags{"--retry-schedule", "2s,2s", "--retry-jitter", "0",
                                       "--claim-idle",     "1s"};
  auto a = api_node(redis, "a", flags);
  auto b = api_node(redis, "b", flags);
  INFO(a->log());
  INFO(b->log());
  const std::string endpoint_id =
      shop_endpoint(a->port(), "http://127.0.0.1:" + std::to_string(sink_port) + "/hook");
  REQUIRE(wait_until(
      [&] { return api(b->port(), "GET", "/api/v1/app/shop/endpoint/siem/").status == 200; }));

  // b accepts and first tries them while a is stopped; then b is stopped
  // and a claims them and makes the other attempts: each node knows the
  // messages (b accepted them, a was handed them) and made some attempts.
  REQUIRE(::kill(a->pid(), SIGSTOP) == 0);
  auto ids = post_messages(b->port(), 3);
  // (a's read blocked in Redis may have taken some: b claims those.)
  REQUIRE(wait_until([&] { return std::stoi(redis.cli("XLEN hookd:attempts")) >= 3; }));
  REQUIRE(::kill(b->pid(), SIGSTOP) == 0);
  REQUIRE(::kill(a->pid(), SIGCONT) == 0);
  const std::string list = "hookd:dead-letters:api:" + endpoint_id;
  REQUIRE(wait_until([&] { return redis.cli("HLEN " + list) == "3"; }));
  REQUIRE(::kill(b->pid(), SIGCONT) == 0);

  auto alike = [&](const std::string& id, const std::string& state) {
    json::value on_a = event_delivery(a->port(), id, endpoint_id);
    json::value on_b = event_delivery(b->port(), id, endpoint_id);
    return state_of(on_a) == state && json::serialize(on_a) == json::serialize(on_b);
  };
  for (const auto& id : ids) {
    INFO(id);
    CHECK(wait_until([&] { return alike(id, "dead_letter"); }));
    json::value shown = event_delivery(a->port(), id, endpoint_id);
    REQUIRE(shown.is_object());
    CHECK(shown.at("attempts").as_array().size() >= 3);
  }

  // Recovered through a: delivered, and both nodes show the success.
  SinkProcess sink({}, sink_port);
  REQUIRE(recover(a->port()).status == 202);
  REQUIRE(wait_until([&] { return sink.delivered().size() == ids.size(); }));
  for (const auto& id : ids) {
    INFO(id);
    CHECK(wait_until([&] { return alike(id, "delivered"); }));
    json::value shown = event_delivery(b->port(), id, endpoint_id);
    REQUIRE(shown.is_object());
    CHECK(shown.at("attempts").as_array().back().at("status").as_int64() / 100 == 2);
  }
}

namespace {

// Every page of the message list `query` through `port` (following
// `iterator` until done), each body as served.
std::vector<std::string> message_pages(unsigned short port, const std::string& query) {
  std::vector<std::string> pages;
  std::string iterator;
  for (int guard = 0; guard < 100; ++guard) {
    Reply r =
        api(port, "GET",
            "/api/v1/app/shop/msg/?" + query + (iterator.empty() ? "" : "&iterator=" + iterator));
    REQUIRE(r.status == 200);
    pages.push_back(r.body);
    json::object page = json::parse(r.body).as_object();
    if (page.at("done").as_bool() || !page.at("iterator").is_string()) break;
    iterator = page.at("iterator").as_string().c_str();
  }
  return pages;
}

std::size_t listed_messages(unsigned short port) {
  Reply r = api(port, "GET", "/api/v1/app/shop/msg/?limit=250");
  if (r.status != 200) return 0;
  return json::parse(r.body).as_object().at("data").as_array().size();
}

}  // namespace

TEST_CASE("every node lists and gets every node's api messages alike, also one started after") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  auto a = api_node(redis, "a");
  auto b = api_node(redis, "b");
  INFO(a->log());
  INFO(b->log());
  REQUIRE(api(a->port(), "POST", "/api/v1/app/", R"({"name":"Shop","uid":"shop"})").status == 201);
  REQUIRE(wait_until([&] { return api(b->port(), "GET", "/api/v1/app/shop/").status == 200; }));

  // Most through a, some through b; types, channels and eventIds vary so
  // that the filters have something to tell apart.
  std::vector<std::string> ids;
  for (int i = 0; i < 9; ++i) {
    unsigned short port = i % 3 == 2 ? b->port() : a->port();
    json::object body{
        {"eventType", i % 2 ? "order.paid" : "order.made"},
        {"eventId", "evt-" + std::to_string(i)},
        {"payload", json::object{{"n", i}, {"text", "message " + std::to_string(i)}}}};
    if (i % 4 == 0) body["channels"] = json::array{"eu"};
    Reply msg = api(port, "POST", "/api/v1/app/shop/msg/", json::serialize(body));
    REQUIRE(msg.status == 202);
    ids.push_back(json::parse(msg.body).as_object().at("id").as_string().c_str());
  }
  REQUIRE(wait_until([&] { return listed_messages(a->port()) == ids.size(); }));
  REQUIRE(wait_until([&] { return listed_messages(b->port()) == ids.size(); }));

  // A node's own messages come back from the stream too: still listed once.
  // An eventId another node took is taken here as well.
  CHECK(api(b->port(), "POST", "/api/v1/app/shop/msg/",
            R"({"eventType":"order.made","eventId":"evt-0","payload":{}})")
            .status == 409);

  const std::vector<std::string> queries = {"limit=250", "limit=4",
                                            "limit=2&event_types=order.paid", "limit=3&channel=eu",
                                            "limit=4&with_content=false"};
  auto answers = [&](unsigned short port) {
    std::vector<std::string> all;
    for (const std::string& query : queries) {
      for (std::string& page : message_pages(port, query))
        all.push_back(std::move(page));
    }
    // By id and by eventId.
    for (std::size_t i = 0; i < ids.size(); ++i) {
      all.push_back(api(port, "GET", "/api/v1/app/shop/msg/" + ids[i] + "/").body);
      all.push_back(api(port, "GET", "/api/v1/app/shop/msg/evt-" + std::to_string(i) + "/").body);
    }
    return all;
  };
  const std::vector<std::string> on_a = answers(a->port());
  // Newest first by id (time-ordered per node: two nodes' messages of one
  // millisecond may list in either order, but the same on every node),
  // each with its payload.
  json::array data = json::parse(on_a[0]).as_object().at("data").as_array();
  REQUIRE(data.size() == ids.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const json::object& m = data[i].as_object();
    if (i > 0) CHECK(data[i - 1].at("id").as_string() > m.at("id").as_string());
    auto made = std::find(ids.begin(), ids.end(), std::string(m.at("id").as_string()));
    REQUIRE(made != ids.end());
    CHECK(m.at("payload").at("n").as_int64() == made - ids.begin());
  }
  CHECK(answers(b->port()) == on_a);

  // A node started after the messages were made reads them from the stream.
  auto c = api_node(redis, "c");
  INFO(c->log());
  REQUIRE(wait_until([&] { return listed_messages(c->port()) == ids.size(); }));
  CHECK(answers(c->port()) == on_a);

  // Redis restarted (its AOF keeps the stream): the nodes read on, and what
  // comes after is listed on each, once.
  redis.kill9();
  redis.start();
  std::string late;
  REQUIRE(wait_until([&] {
    Reply msg = api(a->port(), "POST", "/api/v1/app/shop/msg/",
                    R"({"eventType":"order.made","payload":{"n":9}})");
    if (msg.status != 202) return false;
    late = json::parse(msg.body).as_object().at("id").as_string().c_str();
    return true;
  }));
  ids.push_back(late);
  for (auto* node : {a.get(), b.get(), c.get()}) {
    CHECK(wait_until([&] { return listed_messages(node->port()) == ids.size(); }));
    CHECK(api(node->port(), "GET", "/api/v1/app/shop/msg/" + late + "/").status == 200);
  }
  CHECK(answers(b->port()) == answers(a->port()));
  CHECK(answers(c->port()) == answers(a->port()));
}
