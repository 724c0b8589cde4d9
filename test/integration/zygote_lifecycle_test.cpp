// The prewarm executor's zygotes over their lives: killed while loading,
// killed under a run, replaced by a new snapshot's, lying on their socket;
// and the daemon wiring it up (--hook-executor, --hook-preload, metrics).
#include <signal.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/metrics.h"
#include "support/hook_executors.h"
#include "support/runbooks_repos.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::ProcessResult;
using hookd::test::Executors;
using hookd::test::gone;
using hookd::test::kCanary;
using hookd::test::kGitPassword;
using hookd::test::kPython;
using hookd::test::TempDir;
using hookd::test::wait_until;
using hookd::test::write_file;
using hookd::test::zygotes_of;

namespace {

// A zygote that lies: it loads like one, then answers a RUN as LIAR_MODE
// says. Started through an "interpreter" that is python3 for everything else.
const std::string kLiar = R"(import os, socket, struct
s = socket.socket(fileno=0)
mode = os.environ["LIAR_MODE"]
H, F = struct.Struct(">IBB"), struct.Struct(">BI")
def enc(t, fields):
    body = b"".join(F.pack(tag, len(v)) + v for tag, v in fields)
    return H.pack(len(body) + 2, 1, t) + body
def dec(r):
    at, out = 6, []
    while at < len(r):
        tag, n = F.unpack_from(r, at)
        out.append((tag, r[at + 5:at + 5 + n]))
        at += 5 + n
    return r[5], out
s.recv(1 << 20)
_, load = dec(s.recv(1 << 20))
u64 = lambda n: n.to_bytes(8, "big")
s.send(enc(16, [(8, u64(os.getpid()))] + [(2, v) for tag, v in load if tag == 2]))
while True:
    data, _, _, _ = s.recvmsg(1 << 20, socket.CMSG_SPACE(16))
    if not data:
        break
    kind, fields = dec(data)
    if kind != 2:
        continue
    run_id = dict(fields)[1]
    if mode == "garbage":
        s.send(b"\x00\x00\x00\x09nonsense!")
    elif mode == "a pid that is not its pidfd's":
        fd = os.pidfd_open(os.getpid())
        s.sendmsg([enc(17, [(1, run_id), (8, u64(1))])],
                  [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))])
    elif mode == "an answer for another run":
        s.send(enc(18, [(1, u64(999)), (10, b"no")]))
    elif mode == "oversized":
        s.send(enc(18, [(1, run_id), (10, b"x" * (200 * 1024))]))
    elif mode == "death":
        os._exit(3)
)";

}  // namespace

TEST_CASE("a zygote killed while loading: runs use spawn, then a new zygote", "[prewarm]") {
  TempDir modules;
  // Importing it takes a while: the zygote is killed in the middle.
  write_file(modules.path() / "slow_module.py", "import time\ntime.sleep(3)\n");
  Executors x({"PYTHONPATH=" + modules.path().string()}, {"json", "slow_module"});
  auto paths = x.publish({{"hello", "print('hello')\n"}});
  const auto& script = paths.at("hello.runbook.py");
  REQUIRE(wait_until([&] { return zygotes_of("c1").size() == 1; }));
  int first = zygotes_of("c1").at(0);
  REQUIRE(::kill(first, SIGKILL) == 0);
  // Meanwhile runs go on, started by spawn.
  for (int i = 0; i < 3; ++i) {
    auto r = x.run(x.prewarm(), script);
    CHECK(r.executor == "spawn");
    CHECK(r.exit_code == 0);
    CHECK(r.output == "hello\n");
  }
  // And a new zygote takes over.
  REQUIRE(x.zygote_ready(script));
  auto zygotes = zygotes_of("c1");
  REQUIRE(zygotes.size() == 1);
  CHECK(zygotes[0] != first);
  auto r = x.run(x.prewarm(), script);
  CHECK(r.executor == "prewarm");
  CHECK(r.output == "hello\n");
}

TEST_CASE("a run whose zygote dies under it still ends", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"wait",
                           "import time\nprint('waiting', flush=True)\ntime.sleep(2)\n"
                           "print('done')\n"},
                          {"probe", "pass\n"}});
  REQUIRE(x.zygote_ready(paths.at("probe.runbook.py")));
  auto zygotes = zygotes_of("c1");
  REQUIRE(zygotes.size() == 1);
  std::thread killer([&] {
    std::this_thread::sleep_for(500ms);
    ::kill(zygotes[0], SIGKILL);
  });
  auto r = x.run(x.prewarm(), paths.at("wait.runbook.py"));
  killer.join();
  CHECK(r.executor == "prewarm");
  // The script ran to its end; only its parent could have told its status.
  CHECK(r.output == "waiting\ndone\n");
  CHECK_FALSE(r.timed_out);
  auto next = x.run(x.prewarm(), paths.at("probe.runbook.py"));
  CHECK(next.exit_code == 0);
}

TEST_CASE("a new snapshot gets a new zygote and the old one ends", "[prewarm]") {
  Executors x;
  auto v1 = x.publish({{"hook", "print('v1')\n"}}, "c1");
  REQUIRE(x.zygote_ready(v1.at("hook.runbook.py"), "c1"));
  auto old_zygotes = zygotes_of("c1");
  REQUIRE(old_zygotes.size() == 1);
  auto r1 = x.run(x.prewarm(), v1.at("hook.runbook.py"), "{}", {}, "c1");
  CHECK(r1.output == "v1\n");

  auto v2 = x.publish({{"hook", "print('v2')\n"}}, "c2");
  REQUIRE(x.zygote_ready(v2.at("hook.runbook.py"), "c2"));
  auto r2 = x.run(x.prewarm(), v2.at("hook.runbook.py"), "{}", {}, "c2");
  CHECK(r2.executor == "prewarm");
  CHECK(r2.output == "v2\n");
  CHECK(zygotes_of("c2").size() == 1);
  CHECK(wait_until([&] { return gone(old_zygotes[0]); }));
  // A run still planned on the old commit is started by spawn.
  auto late = x.run(x.prewarm(), v1.at("hook.runbook.py"), "{}", {}, "c1");
  CHECK(late.executor == "spawn");
  CHECK(late.output == "v1\n");
}

TEST_CASE("the daemon runs hooks with prewarm and reports the zygote's memory", "[prewarm]") {
  TempDir runbooks;
  hookd::test::make_runbooks_repo(runbooks.path());
  hookd::test::commit_script(runbooks.path(), "session-open.runbook.py",
                             "import json, os\nprint('sid', json.loads(os.environ["
                             "'HOOP_RUNBOOK_HOOK_PAYLOAD'])['sid'])\nprint(os.environ.get("
                             "'GIT_PASSWORD'), os.environ.get('HOOKD_TEST_CANARY'))\n");
  hookd::test::DaemonOptions options;
  options.args = {"--git-url", runbooks.path().string(), "--git-hook-config-ttl",
                  "3600",      "--hook-executor",        "prewarm"};
  options.env = {"GIT_PASSWORD=" + kGitPassword, "HOOKD_TEST_CANARY=" + kCanary};
  hookd::test::Daemon daemon(options);
  REQUIRE(
      wait_until([&] { return hookd::test::http(daemon.port(), "GET", "/readyz").status == 200; }));
  // Until a run is forked from the zygote (the first ones may be spawned).
  std::string last;
  int n = 0;
  bool forked = wait_until(
      [&] {
        auto event =
            boost::json::parse(hookd::test::fixture("session-open.event.json")).as_object();
        event["id"] = hookd::new_event_id();
        event["payload"].as_object()["sid"] = "sid-" + std::to_string(++n);
        auto posted =
            hookd::test::post_json(daemon.port(), "/v1/events", boost::json::serialize(event));
        if (posted.status != 202) return false;
        last = hookd::test::http(daemon.port(), "GET", "/metrics").body;
        return last.find("hookd_hook_executor_runs_total{executor=\"prewarm\"} 0") ==
                   std::string::npos &&
               last.find("hookd_hook_executor_runs_total{executor=\"prewarm\"}") !=
                   std::string::npos;
      },
      60s);
  INFO(last);
  REQUIRE(forked);
  auto metrics = hookd::test::http(daemon.port(), "GET", "/metrics").body;
  auto at = metrics.find("\nhookd_hook_zygote_rss_bytes ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(metrics.substr(at + 28)) > 1e6);
  CHECK(daemon.log().find(kGitPassword) == std::string::npos);
  CHECK(daemon.log().find(kCanary) == std::string::npos);
  CHECK(daemon.log().find("sid sid-") != std::string::npos);
  CHECK(daemon.log().find("None None") != std::string::npos);
}

TEST_CASE("a zygote that lies or dies fails the run cleanly or leaves it to spawn", "[prewarm]") {
  TempDir fake;
  write_file(fake.path() / "liar.py", kLiar);
  auto interpreter = fake.path() / "python3";
  write_file(interpreter, "#!/bin/sh\nif [ \"$1\" = -c ] && [ \"$3\" = hookd-zygote ]; then exec " +
                              kPython + " " + (fake.path() / "liar.py").string() + "; fi\nexec " +
                              kPython + " \"$@\"\n");
  fs::permissions(interpreter, fs::perms::owner_all);
  for (std::string mode :
       {"garbage", "a pid that is not its pidfd's", "an answer for another run", "oversized"}) {
    INFO(mode);
    Executors x({"LIAR_MODE=" + mode}, {}, interpreter.string());
    auto paths = x.publish({{"hello", "print('hello')\n"}});
    const auto& script = paths.at("hello.runbook.py");
    // The liar is READY like any zygote; what it says after a RUN is not believed.
    ProcessResult failed;
    REQUIRE(wait_until([&] {
      failed = x.run(x.prewarm(), script);
      return failed.executor == "prewarm";
    }));
    CHECK(failed.spawn_error.find("protocol error") != std::string::npos);
    CHECK_FALSE(failed.exit_code.has_value());
    // And hookd goes on: runs are started (by spawn, or failed again by a new liar).
    auto next = x.run(x.prewarm(), script);
    CHECK((next.output == "hello\n" || next.spawn_error.find("prewarm") == 0));
  }
  Executors x({"LIAR_MODE=death"}, {}, interpreter.string());
  auto paths = x.publish({{"hello", "print('hello')\n"}});
  // A zygote that dies on a RUN never ran it: spawn runs it instead.
  auto failures = [] {
    auto text = hookd::metrics().render();
    auto at = text.find("\nhookd_hook_zygote_failures_total ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + 34));
  };
  double before = failures();
  for (int i = 0; i < 3; ++i) {
    REQUIRE(wait_until([&] {
      return hookd::metrics().render().find("\nhookd_hook_zygote_ready 1") != std::string::npos;
    }));
    auto r = x.run(x.prewarm(), paths.at("hello.runbook.py"));
    CHECK(r.executor == "spawn");
    CHECK(r.exit_code == 0);
    CHECK(r.output == "hello\n");
  }
  CHECK(failures() >= before + 3);
}

TEST_CASE("the daemon refuses a bad --hook-executor or --hook-preload", "[prewarm]") {
  for (const char* args : {"--hook-executor fork", "--hook-preload 'json,,os'",
                           "--hook-preload '1abc'", "--hook-preload 'os;rm'"}) {
    INFO(args);
    std::string output;
    int rc = hookd::test::run_command(std::string(HOOKD_BINARY) + " " + args + " 2>&1", &output);
    CHECK(rc == 2);
    CHECK(output.find(std::string(args).substr(2, 12)) != std::string::npos);
  }
}
