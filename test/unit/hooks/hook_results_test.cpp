// What GET /v1/events/{id} shows of hook runs: each finished run's outcome
// and details, the latest run per event, a bounded number of events.
#include "hookd/hooks/hook_results.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

#include "hookd/hooks/hook_run.h"

using hookd::HookResults;
using hookd::HookRun;
using hookd::ProcessResult;
using namespace std::chrono_literals;

namespace {

HookRun run_of(const std::string& event_id) {
  HookRun run;
  run.event_id = event_id;
  run.type = "session.open";
  run.script_name = "session-open.runbook.py";
  run.commit = "0123abcd";
  run.started_unix_ms = 1700000000000;
  return run;
}

ProcessResult exited(int code) {
  ProcessResult result;
  result.exit_code = code;
  result.pid = 4242;
  return result;
}

boost::json::object status(const HookResults& results, const std::string& id) {
  auto json = results.status_json(id);
  REQUIRE(json.has_value());
  return boost::json::parse(*json).as_object();
}

}  // namespace

TEST_CASE("a finished run's outcome", "[hook_results]") {
  ProcessResult spawn_error;
  spawn_error.spawn_error = "/nonexistent/python3: No such file or directory";
  ProcessResult timed_out;
  timed_out.timed_out = true;
  timed_out.signal = SIGTERM;
  ProcessResult timed_out_but_exited = exited(0);
  timed_out_but_exited.timed_out = true;
  ProcessResult killed;
  killed.signal = SIGKILL;
  ProcessResult cancelled;
  cancelled.cancelled = true;
  cancelled.signal = SIGTERM;
  // clang-format off
  const std::vector<std::tuple<ProcessResult, bool, std::string>> cases = {
    {exited(0),            false, "ok"},
    {exited(3),            false, "failed"},
    {exited(0),            true,  "interrupted"},
    {killed,               false, "failed"},
    {cancelled,            false, "failed"},      // cancelled, but not by a drain
    {cancelled,            true,  "interrupted"},
    {timed_out,            false, "timeout"},
    {timed_out_but_exited, false, "timeout"},
    {timed_out,            true,  "interrupted"},
    {spawn_error,          false, "spawn_error"},
    {spawn_error,          true,  "spawn_error"},  // it never ran: nothing to interrupt
  };
  // clang-format on
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    const auto& [result, interrupted, outcome] = cases[i];
    CHECK(hookd::hook_outcome(result, interrupted) == outcome);
  }
}

TEST_CASE("a run is shown running, then with its result", "[hook_results]") {
  HookResults results(10);
  CHECK_FALSE(results.status_json("evt_1").has_value());
  results.started(run_of("evt_1"));
  auto running = status(results, "evt_1");
  CHECK(running.at("outcome") == "running");
  CHECK(running.at("script") == "session-open.runbook.py");
  CHECK(running.at("commit") == "0123abcd");
  CHECK(running.at("started_at") == "2023-11-14T22:13:20.000Z");

  auto result = exited(3);
  result.duration = 1500ms;
  result.output = "bad \xC3";  // cut mid-character by the cap
  result.output_dropped_bytes = 7;
  results.finished(run_of("evt_1"), result, false);
  auto done = status(results, "evt_1");
  CHECK(done.at("outcome") == "failed");
  CHECK(done.at("exit_code") == 3);
  CHECK(done.at("signal").is_null());
  CHECK(done.at("duration_ms") == 1500);
  CHECK(done.at("output") == "bad \xEF\xBF\xBD");
  CHECK(done.at("output_truncated") == true);
  CHECK(done.at("output_dropped_bytes") == 7);
  CHECK_FALSE(done.contains("error"));
  CHECK(done.at("started_at") == "2023-11-14T22:13:20.000Z");
  CHECK(done.contains("finished_at"));

  ProcessResult killed;
  killed.signal = SIGKILL;
  results.finished(run_of("evt_2"), killed, false);
  auto signalled = status(results, "evt_2");
  CHECK(signalled.at("exit_code").is_null());
  CHECK(signalled.at("signal") == SIGKILL);
  CHECK(signalled.at("output_truncated") == false);

  ProcessResult failed;
  failed.spawn_error = "run dir /x: Permission denied";
  results.finished(run_of("evt_3"), failed, false);
  CHECK(status(results, "evt_3").at("error") == "run dir /x: Permission denied");
}

TEST_CASE("results keep the most recently run events only", "[hook_results]") {
  HookResults results(3);
  for (const char* id : {"a", "b", "c"})
    results.finished(run_of(id), exited(0), false);
  results.started(run_of("a"));  // a runs again: now the most recent
  results.finished(run_of("d"), exited(0), false);
  CHECK_FALSE(results.status_json("b").has_value());  // the least recently run
  CHECK(status(results, "a").at("outcome") == "running");
  CHECK(results.status_json("c").has_value());
  CHECK(results.status_json("d").has_value());
}

TEST_CASE("results count runs by outcome", "[hook_results]") {
  HookResults results(0);  // still keeps one
  auto dropped = exited(0);
  dropped.output_dropped_bytes = 100;
  results.finished(run_of("a"), dropped, false);
  results.finished(run_of("b"), exited(1), false);
  results.finished(run_of("c"), exited(0), true);
  results.skipped();
  results.skipped();
  auto counts = results.counts();
  CHECK(counts.ok == 1);
  CHECK(counts.failed == 1);
  CHECK(counts.interrupted == 1);
  CHECK(counts.timeout == 0);
  CHECK(counts.spawn_error == 0);
  CHECK(counts.skipped == 2);
  CHECK(counts.output_dropped_bytes == 100);
  CHECK(results.status_json("c").has_value());
  CHECK_FALSE(results.status_json("b").has_value());
}
