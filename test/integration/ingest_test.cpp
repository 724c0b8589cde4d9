// The real hookd binary, driven over real sockets: the ingest API's status
// codes, signatures, restart and kill -9 durability, and /metrics.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/support.h"

namespace json = boost::json;
using hookd::test::authorized_get;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::http;
using hookd::test::post_json;
using hookd::test::Reply;

namespace {

std::vector<std::string> ids_of(const Reply& reply) {
  std::vector<std::string> ids;
  json::value body = json::parse(reply.body);
  for (const auto& id : body.at("ids").as_array())
    ids.emplace_back(id.as_string().c_str());
  return ids;
}

std::string event(const std::string& id, const std::string& type = "session.open") {
  return R"({"id":")" + id + R"(","type":")" + type + R"(","payload":{"sid":")" + id + R"("}})";
}

// Events are posted from `threads` threads at once; returns the ids of the
// 202 answers (all of them must be 202).
std::vector<std::string> post_burst(unsigned short port, int threads, int per_thread,
                                    const std::string& prefix) {
  std::mutex mutex;
  std::vector<std::string> acknowledged;
  std::vector<std::string> failures;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string id = prefix + "-" + std::to_string(t) + "-" + std::to_string(i);
        Reply reply = post_json(port, "/v1/events", event(id));
        std::lock_guard lock(mutex);
        if (reply.status == 202) {
          acknowledged.push_back(id);
        } else {
          failures.push_back(id + ": " + std::to_string(reply.status) + " " + reply.body);
        }
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  INFO((failures.empty() ? std::string() : failures.front()));
  CHECK(failures.empty());
  return acknowledged;
}

void check_all_stored(unsigned short port, const std::vector<std::string>& ids) {
  std::size_t missing = 0;
  std::string first_missing;
  for (const auto& id : ids) {
    Reply reply = authorized_get(port, "/v1/events/" + id);
    if (reply.status != 200) {
      if (missing++ == 0) first_missing = id + " -> " + std::to_string(reply.status);
    }
  }
  INFO("first missing: " << first_missing);
  CHECK(missing == 0);
}

}  // namespace

TEST_CASE("hookd answers the ingest API's status codes", "[ingest][integration]") {
  Daemon daemon(
      DaemonOptions{{"--max-body-bytes", "4096", "--api-token", hookd::test::kReadToken}});
  unsigned short port = daemon.port();

  auto accepted = post_json(port, "/v1/events", event("evt-int-1"));
  CHECK(accepted.status == 202);
  CHECK(ids_of(accepted) == std::vector<std::string>{"evt-int-1"});
  CHECK(accepted.headers["content-type"] == "application/json");

  auto again = post_json(port, "/v1/events", event("evt-int-1"));
  CHECK(again.status == 200);
  CHECK(ids_of(again) == std::vector<std::string>{"evt-int-1"});

  auto batch = post_json(port, "/v1/events", hookd::test::fixture("events-batch.json"));
  CHECK(batch.status == 202);

  auto invalid = post_json(port, "/v1/events", R"({"type":"","payload":{}})");
  CHECK(invalid.status == 400);
  CHECK(json::parse(invalid.body).at("error").is_string());
  CHECK(post_json(port, "/v1/events", "{nope").status == 400);

  auto big = post_json(port, "/v1/events",
                       R"({"type":"a.b","payload":{"x":")" + std::string(8192, 'x') + "\"}}");
  CHECK(big.status == 413);

  CHECK(http(port, "POST", "/v1/events", event("evt-int-2"), {{"Content-Type", "text/plain"}})
            .status == 415);
  CHECK(http(port, "POST", "/v1/events", event("evt-int-2")).status == 415);

  auto stored = authorized_get(port, "/v1/events/evt-int-1");
  REQUIRE(stored.status == 200);
  auto body = json::parse(stored.body);
  CHECK(body.at("id") == "evt-int-1");
  CHECK(body.at("state") == "done");  // no hooks, no endpoints: nothing left to do
  CHECK(body.at("payload").at("sid") == "evt-int-1");

  CHECK(authorized_get(port, "/v1/events/evt-unknown").status == 404);
  CHECK(http(port, "GET", "/v1/nothing").status == 404);
  auto not_allowed = http(port, "DELETE", "/v1/events");
  CHECK(not_allowed.status == 405);
  CHECK(not_allowed.headers["allow"] == "POST");

  CHECK(http(port, "GET", "/healthz").status == 200);
  auto ready = http(port, "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(json::parse(ready.body).at("ready") == true);

  CHECK(daemon.terminate() == 0);
}

TEST_CASE("hookd requires Standard Webhooks signatures when a secret is set",
          "[ingest][integration]") {
  auto vector = json::parse(hookd::test::fixture("standard-webhooks-vector.json"));
  std::string secret_text(vector.at("secret").as_string());
  auto secret = hookd::WebhookSecret::parse(secret_text);
  REQUIRE(secret.ok());
  Daemon daemon(
      DaemonOptions{{"--inbound-secret", secret_text, "--api-token", hookd::test::kReadToken}});
  unsigned short port = daemon.port();
  std::int64_t now = hookd::now_unix_ms() / 1000;

  auto signed_post = [&](const std::string& prefix, const std::string& id, const std::string& body,
                         std::int64_t timestamp) {
    return post_json(port, "/v1/events", body,
                     {{prefix + "id", id},
                      {prefix + "timestamp", std::to_string(timestamp)},
                      {prefix + "signature", secret->sign(id, timestamp, body)}});
  };

  std::string body = R"({"type":"session.open","payload":{"sid":"signed"}})";
  CHECK(post_json(port, "/v1/events", body).status == 401);
  auto old = signed_post("webhook-", "msg_old", body, now - 3600);
  CHECK(old.status == 401);
  CHECK(json::parse(old.body).at("error").as_string().find("too old") != json::string::npos);
  auto forged = post_json(port, "/v1/events", body,
                          {{"webhook-id", "msg_forged"},
                           {"webhook-timestamp", std::to_string(now)},
                           {"webhook-signature", std::string(vector.at("signature").as_string())}});
  CHECK(forged.status == 401);

  auto accepted = signed_post("webhook-", "msg_standard", body, now);
  CHECK(accepted.status == 202);
  CHECK(ids_of(accepted) == std::vector<std::string>{"msg_standard"});
  CHECK(signed_post("webhook-", "msg_standard", body, now).status == 200);

  auto svix = signed_post("svix-", "msg_svix", body, now);
  CHECK(svix.status == 202);
  CHECK(ids_of(svix) == std::vector<std::string>{"msg_svix"});
  CHECK(authorized_get(port, "/v1/events/msg_svix").status == 200);
}

TEST_CASE("hookd keeps events and ids across a restart", "[ingest][integration]") {
  Daemon daemon(DaemonOptions{hookd::test::read_token_flags()});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto reply = post_json(daemon.port(), "/v1/events", R"({"type":"session.close","payload":{}})");
    REQUIRE(reply.status == 202);
    ids.push_back(ids_of(reply).at(0));
  }
  auto before = json::parse(authorized_get(daemon.port(), "/v1/events/" + ids[2]).body);

  CHECK(daemon.terminate() == 0);
  daemon.restart();

  check_all_stored(daemon.port(), ids);
  auto after = json::parse(authorized_get(daemon.port(), "/v1/events/" + ids[2]).body);
  CHECK(after.at("seq") == before.at("seq"));
  CHECK(after.at("timestamp") == before.at("timestamp"));
  CHECK(after.at("payload") == before.at("payload"));

  // The idempotency index is back: re-posting a stored id is a 200.
  auto stored = authorized_get(daemon.port(), "/v1/events/" + ids[0]);
  auto repost = post_json(daemon.port(), "/v1/events",
                          R"({"id":")" + ids[0] + R"(","type":"session.close","payload":{}})");
  CHECK(repost.status == 200);
  CHECK(ids_of(repost) == std::vector<std::string>{ids[0]});
  CHECK(authorized_get(daemon.port(), "/v1/events/" + ids[0]).body == stored.body);
}

TEST_CASE("kill -9 right after acknowledged POSTs loses none of them", "[ingest][integration]") {
  for (const char* fsync : {"batch", "always"}) {
    DYNAMIC_SECTION("--fsync " << fsync) {
      Daemon daemon(DaemonOptions{{"--fsync", fsync, "--api-token", hookd::test::kReadToken}});
      int per_thread = std::string(fsync) == "always" ? 25 : 50;
      auto acknowledged = post_burst(daemon.port(), 4, per_thread, std::string("burst-") + fsync);
      CHECK(acknowledged.size() == static_cast<std::size_t>(4 * per_thread));
      daemon.kill9();
      daemon.restart();
      check_all_stored(daemon.port(), acknowledged);
      // Nothing is doubled either: each re-post is a duplicate.
      for (std::size_t i = 0; i < acknowledged.size(); i += 37) {
        CHECK(post_json(daemon.port(), "/v1/events", event(acknowledged[i])).status == 200);
      }
    }
  }
}

TEST_CASE("hookd /metrics is Prometheus text", "[ingest][integration]") {
  Daemon daemon(DaemonOptions{hookd::test::read_token_flags()});
  unsigned short port = daemon.port();
  REQUIRE(post_json(port, "/v1/events", event("evt-metrics")).status == 202);
  authorized_get(port, "/v1/events/evt-metrics");
  http(port, "GET", "/some/random/path/12345");

  auto scrape = http(port, "GET", "/metrics");
  REQUIRE(scrape.status == 200);
  CHECK(scrape.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");

  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*)"
      R"((\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})?)"
      R"( (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf)$)");
  std::istringstream lines(scrape.body);
  std::string line;
  std::size_t samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    INFO(line);
    CHECK(std::regex_match(line, sample));
    ++samples;
  }
  CHECK(samples > 10);
  const std::string& text = scrape.body;
  CHECK(text.find(R"(hookd_http_requests_total{route="/v1/events",method="POST",status="202"} )") !=
        std::string::npos);
  CHECK(text.find(R"(route="/v1/events/{id}")") != std::string::npos);
  CHECK(text.find(R"(route="unmatched")") != std::string::npos);
  CHECK(text.find("/some/random/path") == std::string::npos);
  CHECK(text.find("hookd_http_request_duration_seconds_bucket{") != std::string::npos);
  CHECK(text.find("hookd_http_open_connections") != std::string::npos);
  CHECK(text.find(R"(hookd_events_accepted_total{type="session.open"} 1)") != std::string::npos);
}
