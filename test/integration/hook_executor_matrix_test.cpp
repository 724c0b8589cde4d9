// The prewarm executor against the spawn executor: the same scripts, run by
// each, must give the same results (exit code or signal, output byte for
// byte, what was dropped, timeouts), and a prewarm run must really have been
// forked from the zygote. Plus what happens around the zygote: it dies while
// loading, a new snapshot arrives, and the daemon wires it all up.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "hookd/core/event.h"
#include "hookd/hooks/executor.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/prewarm_executor.h"
#include "hookd/runbooks/runbooks.h"
#include "support/runbooks_repos.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::ProcessResult;
using hookd::test::read_file;
using hookd::test::TempDir;
using hookd::test::wait_until;
using hookd::test::write_file;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kGitPassword = "hunter2-matrix";
const std::string kInboundSecret = "whsec_bWF0cml4LXNlY3JldC1zaG91bGQtbm90LWxlYWs=";
const std::string kCanary = "canary-of-the-test-process";

// Field `index` (1-based) of /proc/<pid>/stat; empty when it is gone.
std::string stat_field(int pid, int index) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.empty()) return "";
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= index && rest >> field; ++i) {
  }
  return field;
}

bool gone(int pid) {
  auto state = stat_field(pid, 3);
  return state.empty() || state == "Z";
}

// Pids of live processes whose command line contains `needle`.
std::vector<int> processes_with(const std::string& needle) {
  std::vector<int> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(needle) != std::string::npos && !gone(std::stoi(name))) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

// Zygotes of this test process (their command line names the commit).
std::vector<int> zygotes_of(const std::string& commit) {
  std::vector<int> mine;
  for (int pid : processes_with(std::string("hookd-zygote") + '\0' + commit)) {
    if (stat_field(pid, 4) == std::to_string(::getpid())) mine.push_back(pid);
  }
  return mine;
}

struct Bounds {
  std::chrono::milliseconds timeout{30000}, kill_grace{2000};
  std::size_t output_max_bytes = 4 << 20;
};

// Two executors over one io_context and one runbooks snapshot.
struct Executors {
  TempDir dir;
  fs::path scripts = dir.path() / "scripts";
  fs::path out = dir.path() / "out";
  fs::path work = dir.path() / "hook-runs";
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard;
  std::thread thread;
  hookd::HookEnvironment environment;
  std::mutex snapshot_mutex;
  std::shared_ptr<const hookd::RunbooksSnapshot> snapshot;
  std::unique_ptr<hookd::Executor> spawn, prewarm;
  std::uint64_t seq = 0;

  explicit Executors(std::vector<std::string> extra_env = {}, std::vector<std::string> preload = {
                                                                 "json", "os", "sys", "base64",
                                                                 "hashlib", "hmac", "datetime",
                                                                 "socket", "ssl", "http.client",
                                                                 "urllib.request"}) {
    // What the daemon must never hand on: present in this process, the
    // zygote's parent, from the start.
    ::setenv("GIT_PASSWORD", kGitPassword.c_str(), 1);
    ::setenv("HOOKD_INBOUND_SECRET", kInboundSecret.c_str(), 1);
    ::setenv("HOOKD_TEST_CANARY", kCanary.c_str(), 1);
    fs::create_directories(scripts);
    fs::create_directories(out);
    extra_env.push_back("OUT_DIR=" + out.string());
    extra_env.push_back("TEST_SID=" + std::to_string(::getsid(0)));
    auto parsed = hookd::HookEnvironment::parse(extra_env);
    REQUIRE(parsed.ok());
    environment = *parsed;
    guard.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
    spawn = hookd::make_spawn_executor(io);
    hookd::PrewarmOptions o;
    o.interpreter = kPython;
    o.preload = std::move(preload);
    o.environment = environment;
    o.work_dir = work;
    o.snapshot = [this] {
      std::lock_guard lock(snapshot_mutex);
      return snapshot;
    };
    o.restart_min = 200ms;
    o.snapshot_poll = 100ms;
    prewarm = hookd::make_prewarm_executor(io, std::move(o), hookd::make_spawn_executor(io));
  }

  ~Executors() {
    prewarm.reset();
    spawn.reset();
    guard.reset();
    thread.join();
    ::unsetenv("GIT_PASSWORD");
    ::unsetenv("HOOKD_INBOUND_SECRET");
    ::unsetenv("HOOKD_TEST_CANARY");
  }

  // Scripts by name, published as the snapshot `commit`; their paths.
  std::map<std::string, fs::path> publish(const std::map<std::string, std::string>& by_name,
                                          const std::string& commit = "c1") {
    auto s = std::make_shared<hookd::RunbooksSnapshot>();
    s->commit_id = commit;
    for (const auto& [name, text] : by_name) {
      auto path = scripts / (commit + "-" + name + ".runbook.py");
      write_file(path, text);
      s->scripts[name + ".runbook.py"] = path;
    }
    std::lock_guard lock(snapshot_mutex);
    snapshot = s;
    return s->scripts;
  }

  ProcessResult run(hookd::Executor& executor, const fs::path& script,
                    const std::string& payload = R"({"tag":"matrix","n":1})", Bounds bounds = {},
                    const std::string& commit = "c1") {
    auto run = std::make_shared<hookd::HookRun>();
    run->seq = ++seq;
    run->event_id = "evt_" + std::to_string(seq);
    run->commit = commit;
    run->payload_json = payload;
    run->process.argv = {kPython, script.string()};
    run->process.timeout = bounds.timeout;
    run->process.kill_grace = bounds.kill_grace;
    run->process.output_max_bytes = bounds.output_max_bytes;
    run->process.linger = 200ms;
    fs::create_directories(work);
    REQUIRE(hookd::prepare_run_dir(*run, work, environment).ok());
    std::promise<ProcessResult> result;
    auto child = executor.start(*run, [&](ProcessResult r) { result.set_value(std::move(r)); });
    auto future = result.get_future();
    REQUIRE(future.wait_for(120s) == std::future_status::ready);
    hookd::remove_run_dir(*run);
    return future.get();
  }

  // Until a run of `script` is forked from a ready zygote.
  bool zygote_ready(const fs::path& script, const std::string& commit = "c1") {
    return wait_until(
        [&] { return run(*prewarm, script, "{}", {}, commit).executor == "prewarm"; }, 60s);
  }
};

void check_same(const ProcessResult& spawned, const ProcessResult& forked) {
  INFO("spawn output:\n" << spawned.output << "\nprewarm output:\n" << forked.output);
  CHECK(spawned.executor == "spawn");
  CHECK(forked.spawn_error == spawned.spawn_error);
  CHECK(forked.exit_code == spawned.exit_code);
  CHECK(forked.signal == spawned.signal);
  CHECK(forked.timed_out == spawned.timed_out);
  CHECK(forked.cancelled == spawned.cancelled);
  CHECK(forked.output == spawned.output);
  CHECK(forked.output_dropped_bytes == spawned.output_dropped_bytes);
  CHECK(forked.pid > 0);
}

struct Case {
  std::string name, script;
  Bounds bounds{};
  std::string executor = "prewarm";  // what the prewarm executor uses for it
  bool tagged = false;  // the payload names the executor (else both get the same)
};

// Everything a script can see of how it was started, in one deterministic report.
const std::string kSelfReport = R"("""The report's docstring."""
import json, os, sys
env = dict(os.environ)
home = env.pop("HOME")
print("doc", __doc__)
print("names", [n for n in globals() if n.startswith("__")])
print("name", __name__, "file", __file__ == sys.argv[0], "spec", __spec__, "cached", __cached__)
print("loader", type(__loader__).__name__, __loader__.name, __loader__.path == __file__)
print("argv", sys.argv == [__file__], "orig_argv", sys.orig_argv == [sys.executable, __file__])
print("path0", sys.path[0] == os.path.dirname(__file__), "path", sys.path[1:])
print("env", sorted(env.items()))
print("home is cwd", home == os.getcwd(), "run dir", os.path.basename(os.path.dirname(os.getcwd())))
print("payload", json.loads(env["HOOP_RUNBOOK_HOOK_PAYLOAD"]))
print("stdin", os.readlink("/proc/self/fd/0"), sys.stdin.isatty(), repr(sys.stdin.read()))
print("fds", sorted(os.listdir("/proc/self/fd")))
print("group leader", os.getpgrp() == os.getpid(), "session", os.getsid(0) == int(env["TEST_SID"]))
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print("signals", [hex(int(status[k].strip(), 16) & 0x7FFFFFFF) for k in ("SigBlk", "SigIgn", "SigCgt")])
print("dumpable-owner", os.stat("/proc/self/status").st_uid == os.getuid())
print("flags", sys.flags)
for s in (sys.stdin, sys.stdout, sys.stderr):
    print("stream", s.name, s.encoding, s.errors, s.line_buffering, s.write_through)
print("main module", sys.modules["__main__"] is sys.modules[__name__], type(sys.modules["__main__"]).__name__)
)";

std::vector<Case> matrix() {
  Bounds capped;
  capped.output_max_bytes = 4096;
  Bounds short_timeout;
  short_timeout.timeout = 1000ms;
  short_timeout.kill_grace = 700ms;
  return {
      {"exit 0", "print('ok')\n"},
      {"exit 3", "import sys\nprint('three')\nsys.exit(3)\n"},
      {"exit with a message", "import sys\nprint('before')\nsys.exit('the message')\n"},
      {"exit codes beyond a byte", "import sys\nsys.exit(256 + 7)\n"},
      {"exit -1", "raise SystemExit(-1)\n"},
      {"exit True", "import sys\nsys.exit(True)\n"},
      {"exit None", "raise SystemExit(None)\n"},
      {"exit with a tuple", "raise SystemExit('a', 2)\n"},
      {"uncaught exception",
       "def inner():\n    raise ValueError('boom')\n\ntry:\n    inner()\nexcept ValueError as "
       "e:\n    raise RuntimeError('wrapped') from e\n"},
      {"keyboard interrupt", "print('x', flush=True)\nraise KeyboardInterrupt\n"},
      {"killed by a signal", "import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), "
                             "signal.SIGTERM)\n"},
      {"stdout and stderr interleaved",
       "import sys\nfor i in range(50):\n    print('out', i, flush=True)\n    print('err', i, "
       "file=sys.stderr, flush=True)\n"},
      {"stdout buffered, stderr line-buffered",
       "import sys\nfor i in range(5):\n    print('out', i)\n    print('err', i, "
       "file=sys.stderr)\n"},
      {"large output", "import sys\nfor i in range(20000):\n    sys.stdout.write('%06d ' % i + 'x' * 50 + '\\n')\n"},
      {"large output over the cap", "import sys\nsys.stdout.write('y' * 3000000)\n", capped},
      {"binary output", "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 64)\n"
                        "sys.stdout.write('h\\udce9\\n')\n"},
      {"what the script sees", kSelfReport},
      {"stdin is /dev/null", "import sys\nprint(repr(sys.stdin.read()), repr(sys.stdin.readline()))\n"},
      {"closes stdout and prints again",
       "import os\nprint('before', flush=True)\nos.close(1)\nprint('after')\n"},
      {"closes sys.stdout", "import sys\nprint('before')\nsys.stdout.close()\n"},
      {"atexit handlers and a non-daemon thread",
       "import atexit, threading, time\natexit.register(print, 'first registered')\n"
       "atexit.register(print, 'last registered')\n"
       "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()\n"
       "print('main done')\n"},
      {"finalizers and unclosed files at exit",
       "import os\nclass Noisy:\n    def __del__(self):\n        print('finalized')\n"
       "keep = Noisy()\n"
       "log = open(os.path.join(os.environ['OUT_DIR'], 'unclosed-%s.txt' % "
       "__import__('json').loads(os.environ['HOOP_RUNBOOK_HOOK_PAYLOAD'])['tag']), 'w')\n"
       "log.write('written, never flushed')\n",
       {},
       "prewarm",
       true},
      {"a replaced excepthook", "import sys\nsys.excepthook = lambda t, v, tb: print('hooked', "
                                "t.__name__, v)\nraise LookupError('k')\n"},
      {"a module not preloaded", "import csv, fractions, io\nbuf = io.StringIO()\n"
                                 "csv.writer(buf).writerow([fractions.Fraction(1, 3), 'x'])\n"
                                 "print(buf.getvalue().strip())\n"},
      {"a syntax error", "print('never')\ndef broken(:\n    pass\n", {}, "spawn"},
      {"a warning at compile time", "x = 1\nif x is 1:\n    print('is')\n", {}, "spawn"},
      {"ignores SIGTERM",
       "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', "
       "flush=True)\ntime.sleep(1000)\n",
       short_timeout},
  };
}

}  // namespace

TEST_CASE("prewarm and spawn give the same results for the same scripts", "[prewarm]") {
  Executors x;
  std::map<std::string, std::string> by_name;
  auto cases = matrix();
  for (std::size_t i = 0; i < cases.size(); ++i)
    by_name["case" + std::to_string(i)] = cases[i].script;
  by_name["probe"] = "pass\n";
  auto paths = x.publish(by_name);
  REQUIRE(x.zygote_ready(paths.at("probe.runbook.py")));

  // One zygote for all of them: a loop, not sections (each would start one).
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    INFO("case: " << c.name);
    const auto& script = paths.at("case" + std::to_string(i) + ".runbook.py");
    auto spawned = x.run(*x.spawn, script, R"({"tag":"spawn","n":1})", c.bounds);
    auto forked = x.run(*x.prewarm, script,
                        c.tagged ? R"({"tag":"prewarm","n":1})" : R"({"tag":"spawn","n":1})",
                        c.bounds);
    CHECK(forked.executor == c.executor);
    check_same(spawned, forked);
  }
  CHECK(read_file(x.out / "unclosed-spawn.txt") == "written, never flushed");
  CHECK(read_file(x.out / "unclosed-prewarm.txt") == "written, never flushed");
}

TEST_CASE("the report a script makes of itself holds no secret of the daemon", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"report", kSelfReport}});
  REQUIRE(x.zygote_ready(paths.at("report.runbook.py")));
  auto r = x.run(*x.prewarm, paths.at("report.runbook.py"));
  REQUIRE(r.executor == "prewarm");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find(kGitPassword) == std::string::npos);
  CHECK(r.output.find("bWF0cml4") == std::string::npos);
  CHECK(r.output.find(kCanary) == std::string::npos);
  CHECK(r.output.find("GIT_PASSWORD") == std::string::npos);
  // The names in the environment: the payload, PATH, LANG, --hook-env (HOME popped).
  auto at = r.output.find("env [");
  REQUIRE(at != std::string::npos);
  auto line = r.output.substr(at, r.output.find('\n', at) - at);
  for (const char* name : {"'HOOP_RUNBOOK_HOOK_PAYLOAD'", "'LANG'", "'OUT_DIR'", "'PATH'",
                           "'TEST_SID'"}) {
    CHECK(line.find(name) != std::string::npos);
  }
  std::size_t names = 0;
  for (std::size_t p = line.find("('"); p != std::string::npos; p = line.find("('", p + 1))
    ++names;
  CHECK(names == 5);
  CHECK(r.output.find("stdin /dev/null False ''") != std::string::npos);
  CHECK(r.output.find("fds ['0', '1', '2', '3']") != std::string::npos);
  CHECK(r.output.find("group leader True session True") != std::string::npos);
}

TEST_CASE("a run cannot change what the next run sees", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"meddle", R"(import json, os, sys
print("mark", getattr(json, "_mark", None), "dumps", json.dumps({"a": 1}))
print("env leak", os.environ.get("LEAKED"), "path", sys.path[-1] == "/leaked")
print("argv", len(sys.argv), "builtins", hasattr(__builtins__, "leaked"))
json._mark = "set by an earlier run"
json.dumps = lambda *a, **k: "patched"
os.environ["LEAKED"] = "1"
sys.path.append("/leaked")
sys.argv.append("more")
__builtins__.leaked = True
)"}});
  const auto& script = paths.at("meddle.runbook.py");
  REQUIRE(x.zygote_ready(script));
  auto spawned = x.run(*x.spawn, script);
  for (int i = 0; i < 3; ++i) {
    auto forked = x.run(*x.prewarm, script);
    REQUIRE(forked.executor == "prewarm");
    check_same(spawned, forked);
  }
  CHECK(spawned.output.find("mark None dumps {\"a\": 1}") != std::string::npos);
}

TEST_CASE("a timeout kills the script's subprocess with its group under both", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"children", R"(import json, os, subprocess, time
tag = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])["tag"]
child = subprocess.Popen(["sleep", "1000"])
with open(os.path.join(os.environ["OUT_DIR"], tag + ".pid"), "w") as f:
    f.write(str(child.pid))
print("started", flush=True)
time.sleep(1000)
)"}});
  const auto& script = paths.at("children.runbook.py");
  REQUIRE(x.zygote_ready(script));
  Bounds bounds;
  bounds.timeout = 1000ms;
  bounds.kill_grace = 1000ms;
  auto spawned = x.run(*x.spawn, script, R"({"tag":"spawn"})", bounds);
  auto forked = x.run(*x.prewarm, script, R"({"tag":"prewarm"})", bounds);
  CHECK(forked.executor == "prewarm");
  check_same(spawned, forked);
  CHECK(forked.timed_out);
  CHECK(forked.signal == SIGTERM);
  for (const char* tag : {"spawn", "prewarm"}) {
    INFO(tag);
    int pid = std::stoi(read_file(x.out / (std::string(tag) + ".pid")));
    CHECK(wait_until([&] { return gone(pid); }, 10s));
  }
}

TEST_CASE("unclosed files are flushed at exit under both", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"unclosed", R"(import json, os
tag = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])["tag"]
f = open(os.path.join(os.environ["OUT_DIR"], tag + ".txt"), "w")
f.write("buffered, never flushed by the script")
)"}});
  const auto& script = paths.at("unclosed.runbook.py");
  REQUIRE(x.zygote_ready(script));
  auto spawned = x.run(*x.spawn, script, R"({"tag":"spawn"})");
  auto forked = x.run(*x.prewarm, script, R"({"tag":"prewarm"})");
  CHECK(forked.executor == "prewarm");
  check_same(spawned, forked);
  CHECK(read_file(x.out / "spawn.txt") == "buffered, never flushed by the script");
  CHECK(read_file(x.out / "prewarm.txt") == read_file(x.out / "spawn.txt"));
}

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
    auto r = x.run(*x.prewarm, script);
    CHECK(r.executor == "spawn");
    CHECK(r.exit_code == 0);
    CHECK(r.output == "hello\n");
  }
  // And a new zygote takes over.
  REQUIRE(x.zygote_ready(script));
  auto zygotes = zygotes_of("c1");
  REQUIRE(zygotes.size() == 1);
  CHECK(zygotes[0] != first);
  auto r = x.run(*x.prewarm, script);
  CHECK(r.executor == "prewarm");
  CHECK(r.output == "hello\n");
}

TEST_CASE("a run whose zygote dies under it still ends", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"wait", "import time\nprint('waiting', flush=True)\ntime.sleep(2)\n"
                                   "print('done')\n"},
                          {"probe", "pass\n"}});
  REQUIRE(x.zygote_ready(paths.at("probe.runbook.py")));
  auto zygotes = zygotes_of("c1");
  REQUIRE(zygotes.size() == 1);
  std::thread killer([&] {
    std::this_thread::sleep_for(500ms);
    ::kill(zygotes[0], SIGKILL);
  });
  auto r = x.run(*x.prewarm, paths.at("wait.runbook.py"));
  killer.join();
  CHECK(r.executor == "prewarm");
  // The script ran to its end; only its parent could have told its status.
  CHECK(r.output == "waiting\ndone\n");
  CHECK_FALSE(r.timed_out);
  auto next = x.run(*x.prewarm, paths.at("probe.runbook.py"));
  CHECK(next.exit_code == 0);
}

TEST_CASE("a new snapshot gets a new zygote and the old one ends", "[prewarm]") {
  Executors x;
  auto v1 = x.publish({{"hook", "print('v1')\n"}}, "c1");
  REQUIRE(x.zygote_ready(v1.at("hook.runbook.py"), "c1"));
  auto old_zygotes = zygotes_of("c1");
  REQUIRE(old_zygotes.size() == 1);
  auto r1 = x.run(*x.prewarm, v1.at("hook.runbook.py"), "{}", {}, "c1");
  CHECK(r1.output == "v1\n");

  auto v2 = x.publish({{"hook", "print('v2')\n"}}, "c2");
  REQUIRE(x.zygote_ready(v2.at("hook.runbook.py"), "c2"));
  auto r2 = x.run(*x.prewarm, v2.at("hook.runbook.py"), "{}", {}, "c2");
  CHECK(r2.executor == "prewarm");
  CHECK(r2.output == "v2\n");
  CHECK(zygotes_of("c2").size() == 1);
  CHECK(wait_until([&] { return gone(old_zygotes[0]); }));
  // A run still planned on the old commit is started by spawn.
  auto late = x.run(*x.prewarm, v1.at("hook.runbook.py"), "{}", {}, "c1");
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
  options.args = {"--git-url", runbooks.path().string(), "--git-hook-config-ttl", "3600",
                  "--hook-executor", "prewarm"};
  options.env = {"GIT_PASSWORD=" + kGitPassword, "HOOKD_TEST_CANARY=" + kCanary};
  hookd::test::Daemon daemon(options);
  REQUIRE(wait_until([&] { return hookd::test::http(daemon.port(), "GET", "/readyz").status == 200; }));
  // Until a run is forked from the zygote (the first ones may be spawned).
  std::string last;
  int n = 0;
  bool forked = wait_until(
      [&] {
        auto event = boost::json::parse(hookd::test::fixture("session-open.event.json")).as_object();
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
