// The `state` of GET /v1/events/{id}, over the real daemon: accepted while
// no consumer has begun, processing while a hook runs or a delivery is
// pending, done once every consumer finished, failed when the hook did not
// succeed or a delivery was dead-lettered. Real hooks from a real git
// repository, a real hookd-sink, a port nobody listens on.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "support/event_view.h"
#include "support/runbooks_repos.h"
#include "support/sink_process.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::Reply;
using hookd::test::TempDir;

namespace {

const std::string kToken = "event-state-test-token";

std::vector<std::pair<std::string, std::string>> bearer() {
  return {{"Authorization", "Bearer " + kToken}};
}

void post(const Daemon& daemon, const std::string& id, const std::string& type) {
  Reply reply = hookd::test::post_json(
      daemon.port(), "/v1/events",
      R"({"id":")" + id + R"(","type":")" + type + R"(","payload":{"n":1}})");
  INFO(reply.body);
  REQUIRE(reply.status == 202);
}

std::string state_of(const Daemon& daemon, const std::string& id) {
  Reply reply = hookd::test::http(daemon.port(), "GET", "/v1/events/" + id, "", bearer());
  if (reply.status != 200) return "http " + std::to_string(reply.status);
  return std::string(json::parse(reply.body).as_object().at("state").as_string());
}

// Until the event is in `state` (20 s); the last state seen.
std::string wait_for_state(const Daemon& daemon, const std::string& id, const std::string& state) {
  std::string seen;
  hookd::test::wait_until([&] { return (seen = state_of(daemon, id)) == state; },
                          std::chrono::seconds(20));
  return seen;
}

}  // namespace

TEST_CASE("event state follows the hook run and the deliveries") {
  TempDir runbooks;
  TempDir marks;
  hookd::test::make_runbooks_repo(runbooks.path(), false);
  // slow.run waits for a file the test creates, so "processing" lasts.
  hookd::test::commit_script(runbooks.path(), "slow-run.runbook.py",
                             "import os, time\nwhile not os.path.exists('" +
                                 (marks.path() / "go").string() + "'):\n    time.sleep(0.05)\n");
  hookd::test::commit_script(runbooks.path(), "good-run.runbook.py", "print('fine')\n");
  hookd::test::commit_script(runbooks.path(), "bad-run.runbook.py", "import sys\nsys.exit(3)\n");

  hookd::test::SinkProcess sink;
  DaemonOptions options;
  options.args = {"--git-url", runbooks.path().string(), "--git-hook-config-ttl", "3600",
                  "--hook-interpreter", "/usr/bin/python3", "--endpoint",
                  "name=sink,url=" + sink.url(), "--endpoint",
                  // Only dead.letter events go here, to a port nobody listens on.
                  "name=nowhere,url=http://127.0.0.1:" + std::to_string(hookd::test::free_port()) +
                      "/in,events=dead.letter",
                  "--retry-schedule", "100ms,100ms", "--min-backoff", "0", "--admin-token", kToken};
  Daemon daemon(options);

  post(daemon, "evt-slow", "slow.run");
  CHECK(wait_for_state(daemon, "evt-slow", "processing") == "processing");
  hookd::test::write_file(marks.path() / "go", "");
  CHECK(wait_for_state(daemon, "evt-slow", "done") == "done");

  post(daemon, "evt-good", "good.run");
  CHECK(wait_for_state(daemon, "evt-good", "done") == "done");

  post(daemon, "evt-bad", "bad.run");  // delivered, but its hook exits 3
  CHECK(wait_for_state(daemon, "evt-bad", "failed") == "failed");

  post(daemon, "evt-dead", "dead.letter");  // no hook; one endpoint never answers
  CHECK(wait_for_state(daemon, "evt-dead", "failed") == "failed");
  Reply view = hookd::test::http(daemon.port(), "GET", "/v1/events/evt-dead", "", bearer());
  CHECK(hookd::test::delivery_state(json::parse(view.body).as_object(), "nowhere") ==
        "dead_letter");
  CHECK(hookd::test::delivery_state(json::parse(view.body).as_object(), "sink") == "delivered");
}

TEST_CASE("event state is accepted while no consumer has begun on the event") {
  // Hooks are on, but the runbooks never load (no such repository): the
  // hook runner waits before the event, no run starts.
  TempDir nothing;
  DaemonOptions options;
  options.args = {"--git-url",
                  (nothing.path() / "no-such-repo").string(),
                  "--git-hook-config-ttl",
                  "3600",
                  "--admin-token",
                  kToken};
  Daemon daemon(options);
  post(daemon, "evt-waiting", "session.open");
  // It stays so: give the runner time to (wrongly) move on.
  for (int i = 0; i < 10; ++i) {
    CHECK(state_of(daemon, "evt-waiting") == "accepted");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}
