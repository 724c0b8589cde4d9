// The daemon as an operator meets it: flags, exit codes, signals, probes.
#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <set>
#include <sstream>
#include <string>

#include "hookd/core/event.h"
#include "support/support.h"

using namespace hookd::test;

namespace {

std::string hookd_command(const std::string& args) {
  return std::string(HOOKD_BINARY) + " " + args;
}

}  // namespace

TEST_CASE("help lists every flag with its environment name and exits 0") {
  std::string out;
  REQUIRE(run_command(hookd_command("--help"), &out) == 0);
  for (const char* flag :
       {"--listen", "--threads", "--data-dir", "--max-body-bytes", "--journal-max-bytes", "--fsync",
        "--inbound-secret", "--tls-cert", "--tls-key", "--log-level", "--log-format", "--git-url",
        "--git-hook-config-ttl", "--hook-timeout", "--endpoint", "--retry-schedule"}) {
    INFO(flag);
    CHECK(out.find(flag) != std::string::npos);
  }
  CHECK(out.find("GIT_HOOK_CONFIG_TTL") != std::string::npos);
  CHECK(out.find("HOOKD_DATA_DIR") != std::string::npos);
}

TEST_CASE("version prints the version and exits 0") {
  std::string out;
  REQUIRE(run_command(hookd_command("--version"), &out) == 0);
  CHECK(out.find(std::string("hookd ") + HOOKD_VERSION) != std::string::npos);
}

TEST_CASE("a bad flag value exits 2 with one line naming the flag") {
  for (std::string args : {"--fsync sometimes", "--max-body-bytes huge", "--no-such-flag",
                           "--inbound-secret not_base64!!", "--log-format xml"}) {
    std::string out;
    INFO(args);
    CHECK(run_command(hookd_command(args + " --data-dir /tmp/hookd-never-created"), &out) == 2);
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(out.rfind("hookd: ", 0) == 0);
  }
  std::string out;
  CHECK(run_command("HOOKD_FSYNC=never " + hookd_command("--data-dir /tmp/hookd-never-created"),
                    &out) == 2);
  CHECK(out.find("--fsync") != std::string::npos);
}

TEST_CASE("probes answer, SIGTERM drains and exits 0") {
  Daemon daemon;
  auto health = http(daemon.port(), "GET", "/healthz");
  CHECK(health.status == 200);
  auto ready = http(daemon.port(), "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body.find("\"ready\":true") != std::string::npos);
  auto metrics = http(daemon.port(), "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(metrics.body.find("process_resident_memory_bytes") != std::string::npos);
  CHECK(daemon.terminate() == 0);
  CHECK(daemon.log().find("\"msg\":\"hookd stopped\"") != std::string::npos);
}

TEST_CASE("environment fallbacks configure the daemon") {
  DaemonOptions options;
  options.env = {"HOOKD_MAX_BODY_BYTES=64"};
  Daemon daemon(options);
  std::string body = fixture("session-open.event.json");
  REQUIRE(body.size() > 64);
  CHECK(post_json(daemon.port(), "/v1/events", body).status == 413);
}

TEST_CASE("every log line is a JSON object") {
  Daemon daemon;
  post_json(daemon.port(), "/v1/events", "{not json");
  daemon.terminate();
  std::istringstream lines(daemon.log());
  std::string line;
  int count = 0;
  std::set<std::string> messages;
  while (std::getline(lines, line)) {
    INFO(line);
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(value.is_object());
    const auto& object = value.as_object();
    const auto* ts = object.if_contains("ts");
    const auto* level = object.if_contains("level");
    const auto* msg = object.if_contains("msg");
    REQUIRE(ts);
    REQUIRE(ts->is_string());
    CHECK(hookd::parse_rfc3339(ts->as_string()).has_value());
    REQUIRE(level);
    REQUIRE(level->is_string());
    CHECK((level->as_string() == "debug" || level->as_string() == "info" ||
           level->as_string() == "warn" || level->as_string() == "error"));
    REQUIRE(msg);
    REQUIRE(msg->is_string());
    CHECK_FALSE(msg->as_string().empty());
    messages.insert(std::string(msg->as_string()));
    ++count;
  }
  CHECK(count >= 2);
  CHECK(messages.count("hookd listening") == 1);
  CHECK(messages.count("hookd stopped") == 1);
}

TEST_CASE("a second daemon on the same data dir refuses to start") {
  Daemon first;
  std::string out;
  int rc = run_command(
      hookd_command("--listen 127.0.0.1:0 --data-dir " + first.data_dir().string()), &out);
  CHECK(rc == 1);
  CHECK(out.find("data-dir") != std::string::npos);
  CHECK(http(first.port(), "GET", "/healthz").status == 200);
}
