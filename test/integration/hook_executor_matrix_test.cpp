// The prewarm executor against the spawn executor: the same scripts, run by
// each, must give the same results (exit code or signal, output byte for
// byte, what was dropped, timeouts), and a prewarm run must really have been
// forked from the zygote. What happens around the zygote (its death, a new
// snapshot, a zygote that lies) is zygote_lifecycle_test's.
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/hook_executors.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::ProcessResult;
using hookd::test::Executors;
using hookd::test::gone;
using hookd::test::kCanary;
using hookd::test::kGitPassword;
using hookd::test::read_file;
using hookd::test::RunBounds;
using hookd::test::wait_until;

namespace {

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
  RunBounds bounds{};
  std::string executor = "prewarm";  // what the prewarm executor uses for it
  bool tagged = false;               // the payload names the executor (else both get the same)
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
  RunBounds capped;
  capped.output_max_bytes = 4096;
  RunBounds short_timeout;
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
      {"killed by a signal",
       "import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), "
       "signal.SIGTERM)\n"},
      {"stdout and stderr interleaved",
       "import sys\nfor i in range(50):\n    print('out', i, flush=True)\n    print('err', i, "
       "file=sys.stderr, flush=True)\n"},
      {"stdout buffered, stderr line-buffered",
       "import sys\nfor i in range(5):\n    print('out', i)\n    print('err', i, "
       "file=sys.stderr)\n"},
      {"large output",
       "import sys\nfor i in range(20000):\n    sys.stdout.write('%06d ' % i + 'x' * 50 + "
       "'\\n')\n"},
      {"large output over the cap", "import sys\nsys.stdout.write('y' * 3000000)\n", capped},
      {"binary output",
       "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 64)\n"
       "sys.stdout.write('h\\udce9\\n')\n"},
      {"what the script sees", kSelfReport},
      {"stdin is /dev/null",
       "import sys\nprint(repr(sys.stdin.read()), repr(sys.stdin.readline()))\n"},
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
      {"a replaced excepthook",
       "import sys\nsys.excepthook = lambda t, v, tb: print('hooked', "
       "t.__name__, v)\nraise LookupError('k')\n"},
      {"a module not preloaded",
       "import csv, fractions, io\nbuf = io.StringIO()\n"
       "csv.writer(buf).writerow([fractions.Fraction(1, 3), 'x'])\n"
       "print(buf.getvalue().strip())\n"},
      {"modules of the old preload set, imported by the run",
       "import sys\nheavy = ('ssl', 'http.client', 'urllib.request')\n"
       "print('loaded before', [m in sys.modules for m in heavy])\n"
       "import ssl, http.client, urllib.request\n"
       "print(ssl.PROTOCOL_TLS_CLIENT.name, http.client.responses[404])\n"
       "print(urllib.request.Request('http://127.0.0.1:9/a?b=1').selector)\n"
       "print('loaded after', [m in sys.modules for m in heavy])\n"},
      {"atexit order, a failing handler and the exit code",
       "import atexit, sys\n"
       "class Broken:\n    def __call__(self):\n        raise ValueError('in atexit')\n"
       "    def __repr__(self):\n        return '<a broken handler>'\n"
       "atexit.register(print, 'registered first, runs last')\n"
       "atexit.register(Broken())\n"
       "atexit.register(print, 'registered last, runs first')\n"
       "print('exiting', flush=True)\nsys.exit(4)\n"},
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
    auto spawned = x.run(x.spawn(), script, R"({"tag":"spawn","n":1})", c.bounds);
    auto forked =
        x.run(x.prewarm(), script,
              c.tagged ? R"({"tag":"prewarm","n":1})" : R"({"tag":"spawn","n":1})", c.bounds);
    CHECK(forked.executor == c.executor);
    check_same(spawned, forked);
  }
  CHECK(read_file(x.out() / "unclosed-spawn.txt") == "written, never flushed");
  CHECK(read_file(x.out() / "unclosed-prewarm.txt") == "written, never flushed");
}

TEST_CASE("the report a script makes of itself holds no secret of the daemon", "[prewarm]") {
  Executors x;
  auto paths = x.publish({{"report", kSelfReport}});
  REQUIRE(x.zygote_ready(paths.at("report.runbook.py")));
  auto r = x.run(x.prewarm(), paths.at("report.runbook.py"));
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
  for (const char* name :
       {"'HOOP_RUNBOOK_HOOK_PAYLOAD'", "'LANG'", "'OUT_DIR'", "'PATH'", "'TEST_SID'"}) {
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
  auto spawned = x.run(x.spawn(), script);
  for (int i = 0; i < 3; ++i) {
    auto forked = x.run(x.prewarm(), script);
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
  RunBounds bounds;
  bounds.timeout = 1000ms;
  bounds.kill_grace = 1000ms;
  auto spawned = x.run(x.spawn(), script, R"({"tag":"spawn"})", bounds);
  auto forked = x.run(x.prewarm(), script, R"({"tag":"prewarm"})", bounds);
  CHECK(forked.executor == "prewarm");
  check_same(spawned, forked);
  CHECK(forked.timed_out);
  CHECK(forked.signal == SIGTERM);
  for (const char* tag : {"spawn", "prewarm"}) {
    INFO(tag);
    int pid = std::stoi(read_file(x.out() / (std::string(tag) + ".pid")));
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
  auto spawned = x.run(x.spawn(), script, R"({"tag":"spawn"})");
  auto forked = x.run(x.prewarm(), script, R"({"tag":"prewarm"})");
  CHECK(forked.executor == "prewarm");
  check_same(spawned, forked);
  CHECK(read_file(x.out() / "spawn.txt") == "buffered, never flushed by the script");
  CHECK(read_file(x.out() / "prewarm.txt") == read_file(x.out() / "spawn.txt"));
}
