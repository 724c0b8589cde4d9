// Hook results that last and hook outcomes as events, over the real daemon:
// real hook scripts from a real git repository (exit 0 and 3), a real
// hookd-sink subscribed to hook.finished, and kill -9 in the middle. After
// the restart GET /v1/events/{id} still shows each run and the state it
// gives the event; no run is repeated; each run reaches the sink as one
// hook.finished; and no hook ever runs for a hook.finished event.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include "support/event_view.h"
#include "support/runbooks_repos.h"
#include "support/sink_process.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::authorized_get;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::Reply;
using hookd::test::TempDir;

namespace {

void post(const Daemon& daemon, const std::string& body) {
  Reply reply = hookd::test::post_json(daemon.port(), "/v1/events", body);
  INFO(reply.body);
  REQUIRE(reply.status == 202);
}

json::object view_of(const Daemon& daemon, const std::string& id) {
  Reply reply = authorized_get(daemon.port(), "/v1/events/" + id);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  return json::parse(reply.body).as_object();
}

// Until the event's state is `state` (30 s); its view then.
json::object wait_for_state(const Daemon& daemon, const std::string& id, const std::string& state) {
  Reply reply = hookd::test::wait_for_event_view(daemon.port(), id, [&](const json::object& view) {
    return view.at("state") == state.c_str();
  });
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  json::object view = json::parse(reply.body).as_object();
  REQUIRE(view.at("state") == state.c_str());
  return view;
}

std::size_t lines_in(const fs::path& file) {
  if (!fs::exists(file)) return 0;
  std::string text = hookd::test::read_file(file);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::set<std::string> hook_finished_ids(const hookd::test::SinkProcess& sink) {
  std::set<std::string> ids;
  for (const auto& id : sink.delivered())
    if (id.starts_with("hookfin_")) ids.insert(id);
  return ids;
}

// The run as GET /v1/events/{id} shows it.
void check_run(const json::object& view, const std::string& script, const std::string& commit,
               const std::string& outcome, int exit_code, const std::string& output) {
  INFO(json::serialize(view));
  REQUIRE(view.contains("hook"));
  const json::object& hook = view.at("hook").as_object();
  CHECK(hook.at("script") == script.c_str());
  CHECK(hook.at("commit") == commit.c_str());
  CHECK(hook.at("outcome") == outcome.c_str());
  CHECK(hook.at("exit_code") == exit_code);
  CHECK(hook.at("output") == output.c_str());
  CHECK(hook.at("duration_ms").is_int64());
  const std::string executor(hook.at("executor").as_string());
  CHECK((executor == "spawn" || executor == "prewarm"));
}

}  // namespace

TEST_CASE("hook results and hook.finished events survive kill -9") {
  TempDir runbooks;
  TempDir marks;
  const fs::path ok_runs = marks.path() / "ok-runs";
  const fs::path bad_runs = marks.path() / "bad-runs";
  const fs::path loop_marker = marks.path() / "hook-finished-ran";
  hookd::test::make_runbooks_repo(runbooks.path(), false);
  hookd::test::commit_script(runbooks.path(), "ok-run.runbook.py",
                             "with open('" + ok_runs.string() +
                                 "', 'a') as f:\n"
                                 "    f.write('run\\n')\nprint('fine')\n");
  hookd::test::commit_script(runbooks.path(), "bad-run.runbook.py",
                             "import sys\nwith open('" + bad_runs.string() +
                                 "', 'a') as f:\n"
                                 "    f.write('run\\n')\nprint('bad input')\nsys.exit(3)\n");
  const std::string commit =
      hookd::test::commit_script(runbooks.path(), "hook-finished.runbook.py",
                                 "open('" + loop_marker.string() + "', 'w').write('ran')\n");

  hookd::test::SinkProcess sink;
  DaemonOptions options = hookd::test::with_read_token({});
  options.args.insert(
      options.args.end(),
      {"--git-url", runbooks.path().string(), "--git-hook-config-ttl", "3600", "--hook-interpreter",
       "/usr/bin/python3", "--endpoint", "name=siem,url=" + sink.url() + ",events=hook.finished"});
  Daemon daemon(options);

  post(daemon, R"({"id":"evt-ok","type":"ok.run","payload":{"sid":"s-42","n":1}})");
  post(daemon, R"({"id":"evt-bad","type":"bad.run","payload":{"n":2}})");
  // Someone posts a hook.finished of their own: delivered, never run.
  post(daemon, R"({"id":"evt-loop","type":"hook.finished","payload":{"n":3}})");

  check_run(wait_for_state(daemon, "evt-ok", "done"), "ok-run.runbook.py", commit, "ok", 0,
            "fine\n");
  check_run(wait_for_state(daemon, "evt-bad", "failed"), "bad-run.runbook.py", commit, "failed", 3,
            "bad input\n");
  CHECK_FALSE(wait_for_state(daemon, "evt-loop", "done").contains("hook"));
  // One hook.finished per run reaches the sink, besides the posted one.
  CHECK(hookd::test::wait_until([&] { return hook_finished_ids(sink).size() == 2; }));
  CHECK(hookd::test::wait_until([&] { return sink.delivered().count("evt-loop") == 1; }));
  for (const auto& [id, times] : sink.delivery_counts()) {
    INFO(id);
    CHECK(times == 1);
  }

  daemon.kill9();
  daemon.restart();

  // The runs and the states they give are still there. A failed hook is
  // failed at once; a good one is done once the hooks cursor (persisted in
  // the background, so kill -9 may have cost its last move) passes it again.
  json::object bad_view = view_of(daemon, "evt-bad");
  CHECK(bad_view.at("state") == "failed");
  check_run(bad_view, "bad-run.runbook.py", commit, "failed", 3, "bad input\n");
  check_run(view_of(daemon, "evt-ok"), "ok-run.runbook.py", commit, "ok", 0, "fine\n");
  check_run(wait_for_state(daemon, "evt-ok", "done"), "ok-run.runbook.py", commit, "ok", 0,
            "fine\n");

  // "done" means the hooks cursor passed the event, so every event before
  // it is done too: a (wrong) repeat of an earlier run would have happened.
  post(daemon, R"({"id":"evt-after","type":"ok.run","payload":{"n":4}})");
  check_run(wait_for_state(daemon, "evt-after", "done"), "ok-run.runbook.py", commit, "ok", 0,
            "fine\n");
  CHECK(lines_in(ok_runs) == 2);  // evt-ok and evt-after
  CHECK(lines_in(bad_runs) == 1);

  REQUIRE(hookd::test::wait_until([&] { return hook_finished_ids(sink).size() == 3; }));
  std::set<std::string> reported;
  for (const auto& id : hook_finished_ids(sink)) {
    json::object event = view_of(daemon, id);
    CHECK(event.at("type") == "hook.finished");
    CHECK_FALSE(event.contains("hook"));  // no hook ran for it
    const json::object& payload = event.at("payload").as_object();
    INFO(json::serialize(payload));
    const std::string event_id(payload.at("event_id").as_string());
    reported.insert(event_id);
    CHECK(payload.at("commit") == commit.c_str());
    CHECK(payload.at("duration_ms").is_int64());
    if (event_id == "evt-bad") {
      CHECK(payload.at("event_type") == "bad.run");
      CHECK(payload.at("script") == "bad-run.runbook.py");
      CHECK(payload.at("exit_code") == 3);
      CHECK(payload.at("outcome") == "failed");
      CHECK(payload.at("output") == "bad input\n");
      CHECK(payload.at("sid").is_null());
    } else {
      CHECK(payload.at("event_type") == "ok.run");
      CHECK(payload.at("script") == "ok-run.runbook.py");
      CHECK(payload.at("exit_code") == 0);
      CHECK(payload.at("outcome") == "ok");
      CHECK(payload.at("output") == "fine\n");
      if (event_id == "evt-ok") {
        CHECK(payload.at("sid") == "s-42");
      } else {
        CHECK(payload.at("sid").is_null());
      }
    }
  }
  CHECK(reported == std::set<std::string>{"evt-ok", "evt-bad", "evt-after"});
  CHECK_FALSE(fs::exists(loop_marker));
}
