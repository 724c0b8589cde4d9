// Faults under a steady load, with the real daemon, hooks from a real runbooks
// repository and hookd-sink endpoints: kill -9 at random moments, an endpoint
// that fails 30% of the time, one that hangs and comes back, one slower than
// its timeout. Each case prints its figures, one plain line each, and checks
// that nothing accepted is lost.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/open_loop.h"
#include "support/runbooks_repos.h"
#include "support/sink_process.h"
#include "support/support.h"

using namespace hookd::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Short waits between attempts, and enough of them that a 30% failure rate
// never exhausts the schedule (0.3^30).
const std::string kRetrySchedule = [] {
  std::string s = "200ms,500ms";
  for (int i = 0; i < 28; ++i)
    s += ",1s";
  return s;
}();

std::string tick(const std::string& id) {
  return R"({"type":"chaos.tick","id":")" + id + R"(","payload":{"id":")" + id + R"("}})";
}

// A hook for chaos.tick that appends the event id to $CHAOS_HOOK_LOG.
void add_tick_hook(const fs::path& repo) {
  make_runbooks_repo(repo);
  commit_script(repo, "chaos-tick.runbook.py", R"(import json, os
event = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])
with open(os.environ["CHAOS_HOOK_LOG"], "a") as log:
    log.write(event["id"] + "\n")
)");
}

std::map<std::string, std::size_t> lines_of(const fs::path& file) {
  std::map<std::string, std::size_t> counts;
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ++counts[line];
  }
  return counts;
}

std::size_t missing(const std::set<std::string>& want,
                    const std::map<std::string, std::size_t>& got) {
  std::size_t n = 0;
  for (const auto& id : want)
    n += got.count(id) == 0 ? 1 : 0;
  return n;
}

std::size_t extra(const std::map<std::string, std::size_t>& got) {
  std::size_t n = 0;
  for (const auto& [id, times] : got)
    n += times - 1;
  return n;
}

bool only_from(const std::map<std::string, std::size_t>& got, const std::set<std::string>& ids) {
  for (const auto& [id, times] : got) {
    if (ids.count(id) == 0) return false;
  }
  return true;
}

// The value of one series in the daemon's /metrics ("name{labels}" exactly as
// rendered, or a bare name); -1 when absent.
double metric(const Daemon& daemon, const std::string& series) {
  const std::string text = http(daemon.port(), "GET", "/metrics").body;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// Attempts at the endpoint that did not succeed: error answers, transport
// errors, and timeouts (counted as throttled: the endpoint is too slow).
double failed_attempts(const Daemon& daemon, const std::string& endpoint) {
  double sum = 0;
  for (const char* outcome : {"http_error", "transport_error", "throttled"}) {
    sum += std::max(0.0, metric(daemon, "hookd_delivery_attempts_total{endpoint=\"" + endpoint +
                                            "\",outcome=\"" + outcome + "\"}"));
  }
  return sum;
}

// hookd's own view: every event the endpoint's cursor has passed was answered
// 2xx in time (the sink's records alone also show answers hookd gave up on).
bool finished(const Daemon& daemon, const std::string& endpoint) {
  return metric(daemon, "hookd_delivery_backlog{endpoint=\"" + endpoint + "\"}") == 0;
}

std::string endpoint_flag(const std::string& name, const SinkProcess& sink,
                          const std::string& timeout) {
  return "name=" + name + ",url=" + sink.url() + ",timeout=" + timeout;
}

std::vector<std::string> delivery_flags() {
  return {"--retry-schedule", kRetrySchedule, "--retry-jitter", "0", "--min-backoff", "500ms"};
}

}  // namespace

TEST_CASE("kill -9 rounds under load lose no event and no hook run or delivery") {
  TempDir tmp;
  const fs::path repo = tmp.path() / "runbooks";
  const fs::path hook_log = tmp.path() / "hooks.log";
  add_tick_hook(repo);
  SinkProcess healthy;
  SinkProcess flaky({"--reset-rate", "0.15", "--fail-rate", "0.15", "--seed", "7"});

  DaemonOptions options;
  options.args = {"--git-url",
                  repo.string(),
                  "--git-hook-config-ttl",
                  "60",
                  "--hook-env",
                  "CHAOS_HOOK_LOG=" + hook_log.string(),
                  "--endpoint",
                  endpoint_flag("healthy", healthy, "2s"),
                  "--endpoint",
                  endpoint_flag("flaky", flaky, "2s")};
  for (const auto& flag : delivery_flags())
    options.args.push_back(flag);
  Daemon daemon(hookd::test::with_read_token(options));
  std::atomic<unsigned short> port{daemon.port()};

  const unsigned seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pause_ms(1000, 4000);
  constexpr int kRounds = 5;
  OpenLoopPoster::Options load_options;
  load_options.rate = 40;
  load_options.id_prefix = "chaos-";
  load_options.body = tick;
  OpenLoopPoster load(port, load_options);
  for (int round = 0; round < kRounds; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    daemon.kill9();
    daemon.restart();
    port = daemon.port();
  }
  std::this_thread::sleep_for(2s);
  REQUIRE(load.finish(60s));
  const auto accepted_list = load.accepted();
  const std::set<std::string> accepted(accepted_list.begin(), accepted_list.end());
  REQUIRE(accepted.size() == accepted_list.size());
  REQUIRE(accepted.size() > 200);

  const bool settled = wait_until(
      [&] {
        return missing(accepted, healthy.received().answered_2xx) == 0 &&
               missing(accepted, flaky.received().answered_2xx) == 0 &&
               missing(accepted, lines_of(hook_log)) == 0;
      },
      120s);
  const auto to_healthy = healthy.received().answered_2xx;
  const auto to_flaky = flaky.received().answered_2xx;
  const auto hooked = lines_of(hook_log);
  // Each event's hook run is journaled too, as one hook.finished (its id is
  // the same for every run of the event, so a repeated run adds none).
  wait_until([&] { return metric(daemon, "hookd_journal_last_seq") >= 2.0 * accepted.size(); },
             60s);
  const double in_journal = metric(daemon, "hookd_journal_last_seq");
  std::size_t readable = 0;
  for (const auto& id : accepted)
    readable +=
        hookd::test::authorized_get(daemon.port(), "/v1/events/" + id).status == 200 ? 1 : 0;
  const std::size_t lost = missing(accepted, to_healthy) + missing(accepted, to_flaky) +
                           missing(accepted, hooked) + (accepted.size() - readable);
  const auto counts = load.counts();

  std::printf("chaos kill -9: rounds %d (seed %u)\n", kRounds, seed);
  std::printf(
      "chaos kill -9: events %zu accepted, %.0f in the journal, %zu readable by id, "
      "%zu posts (%zu unanswered during kills, %zu answered 200 on a retry)\n",
      accepted.size(), in_journal, readable, counts.posts, counts.unanswered, counts.duplicates);
  std::printf(
      "chaos kill -9: duplicates healthy %zu, flaky %zu, hooks %zu (flaky sink saw %zu "
      "attempts)\n",
      extra(to_healthy), extra(to_flaky), extra(hooked), flaky.received().attempts);
  std::printf("chaos kill -9: lost %zu\n", lost);

  CHECK(settled);
  CHECK(lost == 0);
  CHECK(in_journal == 2.0 * static_cast<double>(accepted.size()));
  CHECK(only_from(to_healthy, accepted));
  CHECK(only_from(to_flaky, accepted));
  CHECK(only_from(hooked, accepted));
}

TEST_CASE("an endpoint that hangs for 25 s and comes back gets every event") {
  SinkProcess sink;
  DaemonOptions options;
  options.args = {"--endpoint", endpoint_flag("hanging", sink, "2s")};
  for (const auto& flag : delivery_flags())
    options.args.push_back(flag);
  Daemon daemon(options);

  std::set<std::string> posted;
  auto post = [&](const std::string& id) {
    REQUIRE(post_json(daemon.port(), "/v1/events", tick(id)).status == 202);
    posted.insert(id);
  };
  for (int i = 0; i < 10; ++i)
    post("before-" + std::to_string(i));
  REQUIRE(wait_until([&] { return missing(posted, sink.received().answered_2xx) == 0; }));

  // Stopped: connections open, requests are read by nobody.
  sink.hang();
  const auto hung_at = std::chrono::steady_clock::now();
  int during = 0;
  while (std::chrono::steady_clock::now() - hung_at < 25s) {
    post("during-" + std::to_string(during++));  // ingest does not wait for delivery
    std::this_thread::sleep_for(250ms);
  }
  const bool ready_while_hung = http(daemon.port(), "GET", "/readyz").status == 200;
  const double failed_while_hung = failed_attempts(daemon, "hanging");
  sink.come_back();
  const auto back_at = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i)
    post("after-" + std::to_string(i));

  const bool delivered = wait_until(
      [&] {
        return missing(posted, sink.received().answered_2xx) == 0 && finished(daemon, "hanging");
      },
      90s);
  const auto seconds_to_catch_up =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - back_at).count();
  const auto got = sink.received().answered_2xx;
  std::printf("chaos hang: events %zu (%d while the endpoint hung 25 s)\n", posted.size(), during);
  std::printf(
      "chaos hang: failed attempts while hung %.0f, delivered %zu, lost %zu, "
      "caught up %.1f s after it came back\n",
      failed_while_hung, posted.size() - missing(posted, got), missing(posted, got),
      seconds_to_catch_up);
  CHECK(ready_while_hung);
  CHECK(failed_while_hung > 0);
  CHECK(delivered);
  CHECK(only_from(got, posted));
}

TEST_CASE("an endpoint that answers 200 only after its timeout is retried until delivered") {
  auto slow = std::make_unique<SinkProcess>(std::vector<std::string>{"--delay-ms", "2500"});
  const unsigned short port = slow->port();
  DaemonOptions options;
  options.args = {"--endpoint", endpoint_flag("slow", *slow, "1s")};
  for (const auto& flag : delivery_flags())
    options.args.push_back(flag);
  Daemon daemon(options);

  std::set<std::string> posted;
  for (int i = 0; i < 10; ++i) {
    const std::string id = "slow-" + std::to_string(i);
    REQUIRE(post_json(daemon.port(), "/v1/events", tick(id)).status == 202);
    posted.insert(id);
  }
  // The sink answers every one with 200, 2.5 s late: hookd has given up
  // after 1 s each time, so each counts as failed and is tried again.
  REQUIRE(wait_until([&] { return failed_attempts(daemon, "slow") >= 20; }, 60s));
  const auto late = slow->received();
  const double failed_while_slow = failed_attempts(daemon, "slow");
  const double delivered_while_slow =
      metric(daemon, R"(hookd_delivery_delivered_events_total{endpoint="slow"})");
  slow.reset();

  // The endpoint answers in time again (same port): every event arrives.
  SinkProcess prompt({}, port);
  const bool delivered = wait_until(
      [&] {
        return missing(posted, prompt.received().answered_2xx) == 0 && finished(daemon, "slow");
      },
      60s);
  const auto got = prompt.received().answered_2xx;
  std::printf(
      "chaos slow: events %zu, attempts answered 200 after the 1 s timeout %zu, "
      "counted failed %.0f, delivered while slow %.0f\n",
      posted.size(), late.attempts, failed_while_slow, delivered_while_slow);
  std::printf("chaos slow: delivered once it answered in time %zu, lost %zu\n",
              posted.size() - missing(posted, got), missing(posted, got));
  CHECK(delivered_while_slow <= 0);
  CHECK(metric(daemon, R"(hookd_delivery_delivered_events_total{endpoint="slow"})") ==
        static_cast<double>(posted.size()));
  CHECK(delivered);
  CHECK(metric(daemon, R"(hookd_delivery_dead_letters{endpoint="slow"})") <= 0);
}
