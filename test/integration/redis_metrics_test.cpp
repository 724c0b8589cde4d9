// /metrics of a node on a real redis-server (--queue): the queue's series
// are there with the values the traffic gives (appends, duplicates, retry
// notes, the limits it was started with, Redis's own pending counts), and
// the whole scrape passes promtool.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/redis_server.h"
#include "support/sink_process.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd::test;
namespace fs = std::filesystem;

namespace {

// The value of the series `name` (with its labels, exactly as rendered), or
// "" when it is not there.
std::string value_of(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  at += series.size() + 2;
  return body.substr(at, body.find('\n', at) - at);
}

}  // namespace

TEST_CASE("a node on redis shows the queue on /metrics and promtool accepts it") {
  if (!RedisServer::available()) HOOKD_SKIP("redis-server or redis-cli not installed");
  RedisServer redis;
  // The first attempt fails: one retry is noted in Redis.
  SinkProcess sink({"--status", "500", "--fail-first", "1"});
  DaemonOptions o;
  o.args = {"--queue",          redis.url(), "--queue-max-len", "5000",
            "--max-deliveries", "7",         "--claim-idle",    "3s",
            "--retry-schedule", "200ms",     "--endpoint",      "name=a,url=" + sink.url()};
  Daemon node(o);
  INFO(node.log());
  REQUIRE(wait_until([&] { return http(node.port(), "GET", "/readyz").status == 200; }));
  for (int i = 0; i < 5; ++i) {
    std::string body = R"({"id":"m-)" + std::to_string(i) + R"(","type":"test.ping","payload":{}})";
    REQUIRE(post_json(node.port(), "/v1/events", body).status == 202);
  }
  REQUIRE(post_json(node.port(), "/v1/events", R"({"id":"m-0","type":"test.ping","payload":{}})")
              .status == 200);
  REQUIRE(wait_until([&] { return sink.delivered().size() == 5; }));

  Reply metrics;
  // Redis's counts are polled every few seconds: wait for the first poll.
  REQUIRE(wait_until([&] {
    metrics = http(node.port(), "GET", "/metrics");
    return !value_of(metrics.body, R"(hookd_queue_pending_entries{group="endpoint:a"})").empty();
  }));
  INFO(metrics.body);
  CHECK(value_of(metrics.body, "hookd_queue_appended_events_total") == "5");
  CHECK(value_of(metrics.body, "hookd_queue_duplicate_events_total") == "1");
  CHECK(value_of(metrics.body, "hookd_queue_retries_noted_total") == "1");
  CHECK(value_of(metrics.body, "hookd_queue_connected") == "1");
  CHECK(value_of(metrics.body, "hookd_queue_append_seconds_count") == "6");
  CHECK(value_of(metrics.body, "hookd_queue_max_len") == "5000");
  CHECK(value_of(metrics.body, "hookd_queue_max_deliveries") == "7");
  CHECK(value_of(metrics.body, "hookd_queue_claim_idle_seconds") == "3");
  CHECK(!value_of(metrics.body, "hookd_queue_stream_entries").empty());
  CHECK(!value_of(metrics.body, R"(hookd_queue_held_entries{consumer="endpoint:a"})").empty());

  TempDir scrape;
  fs::path file = scrape.path() / "metrics.txt";
  write_file(file, metrics.body);
  std::string output;
  int rc = run_command("promtool check metrics < '" + file.string() + "' 2>&1", &output);
  INFO("promtool output:\n" << output);
  CHECK(rc == 0);
  CHECK(output.empty());
}
