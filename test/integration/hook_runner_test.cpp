// Hook runner against real child processes and a real file journal.
#include "hookd/hooks/hook_runner.h"
#include "hookd/hooks/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

#include "hookd/core/event.h"
#include "hookd/journal/journal.h"
#include "hookd/runbooks/runbooks.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::ProcessOptions;
using hookd::ProcessResult;
using hookd::test::read_file;
using hookd::test::TempDir;
using hookd::test::wait_until;
using hookd::test::write_file;

namespace {

const std::string kPython = "/usr/bin/python3";

// Runs one child on a private io_context until it is reaped.
ProcessResult run(ProcessOptions options, std::function<void(hookd::ChildProcess)> started = {}) {
  boost::asio::io_context io;
  std::optional<ProcessResult> result;
  auto child =
      hookd::run_process(io, std::move(options), [&](ProcessResult r) { result = std::move(r); });
  if (started) started(child);
  io.run_for(60s);
  REQUIRE(result.has_value());
  return *result;
}

ProcessOptions shell(const std::string& script) {
  ProcessOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.env = {"PATH=/usr/bin:/bin"};
  return o;
}

// Field `index` (1-based, after the command) of /proc/<pid>/stat.
std::string stat_field(const std::string& stat, int index) {
  auto close = stat.rfind(')');
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= index && in >> field; ++i) {
  }
  return field;
}

// A process is gone when it no longer exists or is only a zombie (dead,
// waiting for its new parent, which may be an init that reaps lazily).
bool gone(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return stat.empty() || stat_field(stat, 3) == "Z";
}

// Live (non-zombie) processes whose process group is `pgid`.
std::vector<int> group_members(int pgid) {
  std::vector<int> members;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (stat.empty()) continue;
    if (stat_field(stat, 5) == std::to_string(pgid) && stat_field(stat, 3) != "Z") {
      members.push_back(std::stoi(name));
    }
  }
  return members;
}

int read_pid(const fs::path& file) {
  REQUIRE(wait_until([&] { return fs::exists(file) && !read_file(file).empty(); }));
  return std::stoi(read_file(file));
}

}  // namespace

TEST_CASE("a child's exit code is reported", "[process]") {
  auto r = run(shell("exit 3"));
  CHECK(r.spawn_error.empty());
  REQUIRE(r.exit_code.has_value());
  CHECK(*r.exit_code == 3);
  CHECK_FALSE(r.signal.has_value());
  CHECK_FALSE(r.timed_out);
  CHECK(r.pid > 0);
  CHECK(gone(r.pid));
}

TEST_CASE("stdout and stderr land in one buffer and stdin is /dev/null", "[process]") {
  auto r = run(shell("echo out; echo err >&2; readlink /proc/self/fd/0; cat; echo end"));
  CHECK(r.exit_code == 0);
  CHECK(r.output == "out\nerr\n/dev/null\nend\n");
  CHECK(r.output_dropped_bytes == 0);
}

TEST_CASE("the child gets only the given environment, cwd and no daemon descriptors", "[process]") {
  TempDir dir;
  ::setenv("GIT_PASSWORD", "hunter2-process", 1);
  // A descriptor without O_CLOEXEC, as a careless library might leave one.
  int leaked = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaked >= 0);
  REQUIRE(::dup2(leaked, 57) == 57);
  auto o = shell("env; pwd; test -e /proc/self/fd/57 && echo leaked-fd; exit 0");
  o.env = {"ONLY=this", "PATH=/usr/bin:/bin"};
  o.cwd = dir.path();
  auto r = run(o);
  ::close(57);
  ::close(leaked);
  ::unsetenv("GIT_PASSWORD");
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("ONLY=this\n") != std::string::npos);
  CHECK(r.output.find("hunter2") == std::string::npos);
  CHECK(r.output.find("leaked-fd") == std::string::npos);
  CHECK(r.output.find(fs::canonical(dir.path()).string() + "\n") != std::string::npos);
}

TEST_CASE("the child starts with default signal dispositions and an empty mask", "[process]") {
  // As a daemon does: SIGPIPE ignored, SIGTERM blocked in its threads.
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  ProcessOptions o;  // no shell in between: dash clears its mask at start
  o.argv = {"/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};
  auto r = run(o);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  // Signals 1-31 only: glibc's posix_spawn leaves its internal real-time
  // signals (32, 33) ignored in the child, which no script relies on.
  auto mask = [&](const std::string& name) {
    auto at = r.output.find(name + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(r.output.substr(at + name.size() + 2, 16), nullptr, 16) & 0x7FFFFFFFull;
  };
  CHECK(mask("SigBlk") == 0);
  CHECK(mask("SigIgn") == 0);
}

TEST_CASE("output beyond output_max_bytes is counted, not kept", "[process]") {
  auto o = shell("head -c 52428800 /dev/zero | tr '\\0' x; echo done >&2");
  o.output_max_bytes = 4096;
  auto r = run(o);
  CHECK(r.exit_code == 0);
  CHECK(r.output.size() == 4096);
  CHECK(r.output == std::string(4096, 'x'));
  CHECK(r.output.size() + r.output_dropped_bytes == 52428800 + 5);
}

TEST_CASE("a missing interpreter is a spawn error", "[process]") {
  ProcessOptions o;
  o.argv = {"/nonexistent/python3", "script.py"};
  auto r = run(o);
  CHECK_FALSE(r.spawn_error.empty());
  CHECK(r.spawn_error.find("/nonexistent/python3") != std::string::npos);
  CHECK_FALSE(r.exit_code.has_value());
  CHECK(r.pid == 0);
}

TEST_CASE("a timeout kills the script and the grandchild it started", "[process]") {
  TempDir dir;
  auto pids = dir.path() / "grandchild.pid";
  // The grandchild ignores SIGTERM and keeps the output pipe open: only the
  // group SIGKILL after the leader's exit ends it.
  auto o = shell("(trap '' TERM; exec sleep 1000) & echo $! > " + pids.string() +
                 "; while :; do sleep 1; done");
  o.timeout = 300ms;
  o.kill_grace = 5s;
  o.linger = 100ms;
  int grandchild = 0;
  auto r = run(o, [&](hookd::ChildProcess) {});
  grandchild = read_pid(pids);
  CHECK(r.timed_out);
  REQUIRE(r.signal.has_value());
  CHECK(*r.signal == SIGTERM);
  CHECK(wait_until([&] { return gone(grandchild); }, 5s));
  CHECK(wait_until([&] { return group_members(r.pid).empty(); }, 5s));
  CHECK(gone(r.pid));
}

TEST_CASE("a script ignoring SIGTERM gets SIGKILL after kill_grace", "[process]") {
  ProcessOptions o;
  o.argv = {kPython, "-c",
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(1000)\n"};
  o.timeout = 500ms;
  o.kill_grace = 300ms;
  auto r = run(o);
  CHECK(r.timed_out);
  REQUIRE(r.signal.has_value());
  CHECK(*r.signal == SIGKILL);
  CHECK(r.output == "ready\n");
  CHECK(group_members(r.pid).empty());
}

TEST_CASE("background processes left by a script that exited are killed", "[process]") {
  TempDir dir;
  auto a = dir.path() / "a.pid";
  auto b = dir.path() / "b.pid";
  // One keeps the pipe, one detaches from it; both stay in the group.
  auto o = shell("sleep 1000 & echo $! > " + a.string() +
                 "; sleep 1000 >/dev/null 2>&1 & echo $! > " + b.string() + "; echo bye; exit 0");
  o.linger = 100ms;
  auto r = run(o);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.output == "bye\n");
  int pa = read_pid(a), pb = read_pid(b);
  CHECK(wait_until([&] { return gone(pa) && gone(pb); }, 5s));
  CHECK(group_members(r.pid).empty());
}

TEST_CASE("cancel ends a run like a timeout", "[process]") {
  auto o = shell("echo started; exec sleep 1000");
  o.timeout = 60s;
  boost::asio::io_context io;
  std::optional<ProcessResult> result;
  auto child = hookd::run_process(io, o, [&](ProcessResult r) { result = std::move(r); });
  CHECK(child.pid() > 0);
  child.cancel();
  io.run_for(30s);
  REQUIRE(result.has_value());
  CHECK(result->cancelled);
  CHECK_FALSE(result->timed_out);
  CHECK(result->signal == SIGTERM);
}

TEST_CASE("a child started on a chosen CPU is not left pinned to it", "[process]") {
  cpu_set_t set;
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  std::string allowed;
  int last = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    allowed += (allowed.empty() ? "" : ",") + std::to_string(cpu);
    last = cpu;
  }
  ProcessOptions o;
  // Waits (up to 20 s) for the affinity to widen again, then reports it.
  o.argv = {kPython, "-c", R"(import os, sys, time
want = set(int(c) for c in sys.argv[1].split(","))
deadline = time.time() + 20
while os.sched_getaffinity(0) != want and time.time() < deadline:
    time.sleep(0.01)
print(",".join(str(c) for c in sorted(os.sched_getaffinity(0))))
)",
            allowed};
  o.env = {"PATH=/usr/bin:/bin"};
  o.cpu = last;
  auto r = run(o);
  CHECK(r.exit_code == 0);
  CHECK(r.output == allowed + "\n");
}

// ---------------------------------------------------------------------------
// HookRunner over a real journal.

namespace {

struct Harness {
  TempDir dir;
  fs::path scripts = dir.path() / "scripts";
  fs::path out = dir.path() / "out";
  std::unique_ptr<hookd::Journal> journal;
  boost::asio::io_context io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work;
  std::thread thread;
  std::shared_ptr<const hookd::RunbooksSnapshot> snapshot;
  std::mutex snapshot_mutex;
  std::unique_ptr<hookd::HookRunner> runner;

  Harness() {
    fs::create_directories(scripts);
    fs::create_directories(out);
    open_journal();
    work.emplace(io.get_executor());
    thread = std::thread([this] { io.run(); });
  }

  ~Harness() {
    if (runner) {
      std::promise<void> stopped;
      runner->stop([&] { stopped.set_value(); });
      stopped.get_future().wait_for(60s);
      runner.reset();
    }
    work.reset();
    thread.join();
    if (journal) journal->close();
  }

  void open_journal() {
    hookd::JournalOptions o;
    o.dir = dir.path() / "journal";
    o.fsync = hookd::FsyncMode::off;
    auto j = hookd::open_file_journal(o);
    REQUIRE(j.ok());
    journal = std::move(j.value());
    // As the daemon does: hooks are on before the first event arrives.
    journal->register_consumer("hooks");
  }

  // Scripts by event type, committed as `commit`.
  void set_scripts(const std::map<std::string, std::string>& by_type, std::string commit = "c1") {
    auto s = std::make_shared<hookd::RunbooksSnapshot>();
    s->commit_id = commit;
    for (const auto& [type, text] : by_type) {
      auto name = hookd::hook_script_name(type);
      auto path = scripts / (commit + "-" + name);
      write_file(path, text);
      s->scripts[name] = path;
    }
    std::lock_guard lock(snapshot_mutex);
    snapshot = s;
  }

  std::function<std::shared_ptr<const hookd::RunbooksSnapshot>()> snapshot_fn() {
    return [this] {
      std::lock_guard lock(snapshot_mutex);
      return snapshot;
    };
  }

  void start_runner(hookd::HookRunnerOptions o = {}) {
    if (o.work_dir.empty()) o.work_dir = dir.path() / "hook-runs";
    if (o.extra_env.empty()) o.extra_env = {"OUT_DIR=" + out.string()};
    if (o.concurrency == 0) o.concurrency = 4;
    runner = std::make_unique<hookd::HookRunner>(io, *journal, snapshot_fn(), o);
    runner->start();
  }

  void stop_runner() {
    std::promise<void> stopped;
    runner->stop([&] { stopped.set_value(); });
    REQUIRE(stopped.get_future().wait_for(60s) == std::future_status::ready);
    runner.reset();
  }

  // Appends events (payload {"n": i, "marker": ...}) and waits until durable.
  std::vector<std::string> append(const std::vector<std::string>& types) {
    std::vector<hookd::Event> events;
    std::vector<std::string> ids;
    for (const auto& type : types) {
      hookd::Event e;
      e.id = hookd::new_event_id();
      e.type = type;
      e.timestamp = hookd::format_rfc3339(hookd::now_unix_ms());
      e.payload_json = R"({"id":")" + e.id + R"(","n":)" + std::to_string(ids.size()) +
                       R"(,"text":"h\u00e9 \"q\""})";
      e.arrival_unix_ms = hookd::now_unix_ms();
      ids.push_back(e.id);
      events.push_back(std::move(e));
    }
    std::promise<hookd::AppendResult> done;
    journal->append(std::move(events),
                    [&](hookd::AppendResult r) { done.set_value(std::move(r)); });
    auto r = done.get_future().get();
    REQUIRE(r.code == hookd::AppendResult::Code::ok);
    return ids;
  }

  std::uint64_t cursor() { return journal->cursor("hooks"); }
  std::uint64_t last_seq() { return journal->stats().last_seq; }
};

// Writes the payload it saw to $OUT_DIR/<payload id>.<n-th run>.json.
const std::string kWritePayload = R"(import json, os
payload = os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"]
base = os.path.join(os.environ["OUT_DIR"], json.loads(payload)["id"])
n = 0
while os.path.exists("%s.%d.json" % (base, n)):
    n += 1
with open("%s.%d.tmp" % (base, n), "w") as f:
    f.write(payload)
os.rename("%s.%d.tmp" % (base, n), "%s.%d.json" % (base, n))
print("wrote", n)
)";

boost::json::value status_of(const hookd::HookRunner& runner, const std::string& id) {
  auto s = runner.status_json(id);
  REQUIRE(s.has_value());
  return boost::json::parse(*s);
}

}  // namespace

TEST_CASE("hook runner runs scripted events and advances its cursor", "[runner]") {
  Harness h;
  h.set_scripts({{"session.open", kWritePayload}});
  auto ids = h.append({"session.open", "session.close", "session.open"});
  h.start_runner();
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
  REQUIRE(fs::exists(h.out / (ids[0] + ".0.json")));
  REQUIRE(fs::exists(h.out / (ids[2] + ".0.json")));
  CHECK_FALSE(fs::exists(h.out / (ids[1] + ".0.json")));  // no script for session.close
  CHECK(boost::json::parse(read_file(h.out / (ids[0] + ".0.json"))) ==
        boost::json::parse(R"({"id":")" + ids[0] + R"(","n":0,"text":"h\u00e9 \"q\""})"));

  auto status = status_of(*h.runner, ids[0]);
  CHECK(status.at("outcome") == "ok");
  CHECK(status.at("exit_code") == 0);
  CHECK(status.at("signal").is_null());
  CHECK(status.at("script") == "session-open.runbook.py");
  CHECK(status.at("commit") == "c1");
  CHECK(status.at("output") == "wrote 0\n");
  CHECK(status.at("output_truncated") == false);
  CHECK_FALSE(h.runner->status_json(ids[1]).has_value());

  // Newly durable events run too.
  auto more = h.append({"session.open"});
  REQUIRE(wait_until([&] { return fs::exists(h.out / (more[0] + ".0.json")); }));
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
  auto stats = boost::json::parse(h.runner->stats_json());
  CHECK(stats.at("runs").at("ok") == 3);
  CHECK(stats.at("skipped") == 1);
  // Per-run directories are removed.
  CHECK(fs::is_empty(h.dir.path() / "hook-runs"));
}

TEST_CASE("hook environment is only the payload, PATH, HOME, LANG and --hook-env", "[runner]") {
  Harness h;
  ::setenv("GIT_PASSWORD", "hunter2-runner", 1);
  ::setenv("HOOKD_INBOUND_SECRET", "whsec_c2VjcmV0LXJ1bm5lcg==", 1);
  h.set_scripts({{"session.open", R"(import json, os, sys
env = dict(os.environ)
env["_cwd"] = os.getcwd()
env["_stdin"] = os.readlink("/proc/self/fd/0")
env["_fds"] = sorted(os.listdir("/proc/self/fd"))
with open(os.path.join(os.environ["OUT_DIR"], "env.json"), "w") as f:
    json.dump(env, f)
)"}});
  auto ids = h.append({"session.open"});
  h.start_runner();
  REQUIRE(wait_until([&] { return fs::exists(h.out / "env.json"); }));
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
  ::unsetenv("GIT_PASSWORD");
  ::unsetenv("HOOKD_INBOUND_SECRET");
  auto text = read_file(h.out / "env.json");
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(text.find("c2VjcmV0") == std::string::npos);
  auto env = boost::json::parse(text).as_object();
  std::set<std::string> allowed = {"HOOP_RUNBOOK_HOOK_PAYLOAD",
                                   "PATH",
                                   "HOME",
                                   "LANG",
                                   "OUT_DIR",
                                   "LC_CTYPE",
                                   "_cwd",
                                   "_stdin",
                                   "_fds"};
  for (const auto& kv : env)
    CHECK(allowed.count(std::string(kv.key())) == 1);
  CHECK(boost::json::parse(env.at("HOOP_RUNBOOK_HOOK_PAYLOAD").as_string()) ==
        boost::json::parse(R"({"id":")" + ids[0] + R"(","n":0,"text":"h\u00e9 \"q\""})"));
  CHECK(env.at("LANG") == "C.UTF-8");
  CHECK(env.at("HOME") == env.at("_cwd"));
  CHECK(env.at("_stdin") == "/dev/null");
  auto run_dir = fs::path(std::string(env.at("_cwd").as_string()));
  CHECK(run_dir.parent_path() == fs::canonical(h.dir.path() / "hook-runs"));
  CHECK_FALSE(fs::exists(run_dir));
  // 0, 1, 2 and the directory listdir itself opened.
  CHECK(env.at("_fds").as_array().size() == 4);
}

TEST_CASE("a failing hook, a missing interpreter and a timeout are reported", "[runner]") {
  Harness h;
  h.set_scripts({{"session.open", "import sys\nprint('bad')\nsys.exit(3)\n"},
                 {"session.close", "import time\ntime.sleep(1000)\n"}});
  auto ids = h.append({"session.open", "session.close"});
  hookd::HookRunnerOptions o;
  o.timeout = 500ms;
  o.kill_grace = 500ms;
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
  auto failed = status_of(*h.runner, ids[0]);
  CHECK(failed.at("outcome") == "failed");
  CHECK(failed.at("exit_code") == 3);
  CHECK(failed.at("output") == "bad\n");
  auto timeout = status_of(*h.runner, ids[1]);
  CHECK(timeout.at("outcome") == "timeout");
  CHECK(timeout.at("signal") == SIGTERM);
  CHECK(timeout.at("exit_code").is_null());
  h.stop_runner();

  o.interpreter = "/nonexistent/python3";
  auto more = h.append({"session.open"});
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
  auto spawn = status_of(*h.runner, more[0]);
  CHECK(spawn.at("outcome") == "spawn_error");
}

TEST_CASE("hook runs respect the concurrency bound", "[runner]") {
  Harness h;
  // Each run registers itself in running/, waits (up to 5 s) for a second
  // run to overlap with, then keeps watching for a while and records the
  // most runs it saw at once. So 2 are seen whenever the runner allows 2,
  // and more would be seen if it allowed more.
  h.set_scripts({{"session.open", R"(import json, os, time
out = os.environ["OUT_DIR"]
me = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])["n"]
running = os.path.join(out, "running")
os.makedirs(running, exist_ok=True)
os.mkdir(os.path.join(running, str(me)))
seen = len(os.listdir(running))
deadline = time.time() + 5
while seen < 2 and time.time() < deadline:
    time.sleep(0.02)
    seen = max(seen, len(os.listdir(running)))
until = time.time() + 0.3
while time.time() < until:
    seen = max(seen, len(os.listdir(running)))
    time.sleep(0.02)
with open(os.path.join(out, "seen"), "a") as f:
    f.write("%d\n" % seen)
os.rmdir(os.path.join(running, str(me)))
)"}});
  h.append(std::vector<std::string>(8, "session.open"));
  hookd::HookRunnerOptions o;
  o.concurrency = 2;
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }, 60s));
  std::istringstream seen(read_file(h.out / "seen"));
  int max_seen = 0, runs = 0;
  for (int n; seen >> n; ++runs)
    max_seen = std::max(max_seen, n);
  CHECK(runs == 8);
  CHECK(max_seen == 2);  // runs did overlap, and never beyond the bound
}

TEST_CASE("runs started by one spawn thread run side by side and leave no run dirs", "[runner]") {
  Harness h;
  // Each run waits (up to 20 s) until all three are running at once.
  h.set_scripts({{"session.open", R"(import json, os, time
out = os.environ["OUT_DIR"]
me = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])["n"]
running = os.path.join(out, "running")
os.makedirs(running, exist_ok=True)
open(os.path.join(running, str(me)), "w").close()
deadline = time.time() + 20
while len(os.listdir(running)) < 3 and time.time() < deadline:
    time.sleep(0.02)
with open(os.path.join(out, "seen"), "a") as f:
    f.write("%d\n" % len(os.listdir(running)))
)"}});
  h.append(std::vector<std::string>(3, "session.open"));
  hookd::HookRunnerOptions o;
  o.concurrency = 3;
  o.spawn_threads = 1;
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }, 60s));
  CHECK(read_file(h.out / "seen") == "3\n3\n3\n");
  h.stop_runner();
  CHECK(fs::is_empty(h.dir.path() / "hook-runs"));
}

TEST_CASE("excess runs wait in order", "[runner]") {
  Harness h;
  h.set_scripts({{"session.open", R"(import json, os
me = json.loads(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])["n"]
with open(os.path.join(os.environ["OUT_DIR"], "order"), "a") as f:
    f.write("%d\n" % me)
)"}});
  h.append(std::vector<std::string>(5, "session.open"));
  hookd::HookRunnerOptions o;
  o.concurrency = 1;
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }, 60s));
  CHECK(read_file(h.out / "order") == "0\n1\n2\n3\n4\n");
}

TEST_CASE("events wait for the first runbooks snapshot instead of being skipped", "[runner]") {
  Harness h;
  auto ids = h.append({"session.open"});
  h.start_runner();
  std::this_thread::sleep_for(500ms);  // let it poll for a snapshot a few times
  CHECK(h.cursor() == 0);
  h.set_scripts({{"session.open", kWritePayload}});
  REQUIRE(wait_until([&] { return fs::exists(h.out / (ids[0] + ".0.json")); }));
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }));
}

TEST_CASE("a restart runs the hooks that had not finished", "[runner]") {
  Harness h;
  // Event n=1 blocks until released; the others finish at once.
  h.set_scripts({{"session.open", kWritePayload + R"(
import time
if json.loads(payload)["n"] == 1:
    while not os.path.exists(os.path.join(os.environ["OUT_DIR"], "release")):
        time.sleep(0.05)
)"}});
  auto ids = h.append({"session.open", "session.open", "session.open"});
  hookd::HookRunnerOptions o;
  o.drain_timeout = 200ms;
  o.kill_grace = 200ms;
  h.start_runner(o);
  REQUIRE(wait_until([&] {
    return fs::exists(h.out / (ids[0] + ".0.json")) && fs::exists(h.out / (ids[1] + ".0.json")) &&
           fs::exists(h.out / (ids[2] + ".0.json"));
  }));
  // Events 1 and 3 are done but the cursor waits below the blocked one.
  REQUIRE(wait_until([&] { return h.cursor() >= 1; }));
  std::this_thread::sleep_for(200ms);
  CHECK(h.cursor() == 1);
  h.stop_runner();  // drains for 200 ms, then kills the blocked run
  CHECK(h.cursor() == 1);

  // Restart with the journal reopened from disk.
  h.journal->close();
  h.journal.reset();
  h.open_journal();
  CHECK(h.cursor() == 1);
  write_file(h.out / "release", "");
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == 3; }));
  CHECK(fs::exists(h.out / (ids[1] + ".1.json")));  // the interrupted one ran again
  CHECK(fs::exists(h.out / (ids[2] + ".1.json")));  // at-least-once: above the cursor, so again
  CHECK_FALSE(fs::exists(h.out / (ids[0] + ".1.json")));
}

TEST_CASE("malformed --hook-env entries and a missing work dir are start-up errors", "[runner]") {
  Harness h;
  auto make = [&](std::vector<std::string> env, fs::path work_dir) {
    hookd::HookRunnerOptions o;
    o.extra_env = std::move(env);
    o.work_dir = std::move(work_dir);
    hookd::HookRunner runner(h.io, *h.journal, h.snapshot_fn(), o);
  };
  auto work = h.dir.path() / "hook-runs";
  CHECK_NOTHROW(make({"A=1", "PATH=/opt/bin", "EMPTY="}, work));
  CHECK_THROWS_AS(make({"NOVALUE"}, work), std::invalid_argument);
  CHECK_THROWS_AS(make({"1BAD=x"}, work), std::invalid_argument);
  CHECK_THROWS_AS(make({"=x"}, work), std::invalid_argument);
  CHECK_THROWS_AS(make({"HOOP_RUNBOOK_HOOK_PAYLOAD={}"}, work), std::invalid_argument);
  CHECK_THROWS_AS(make({}, fs::path()), std::invalid_argument);
}

// Not a test: hook runs/s for a trivial script, run with
//   build-dev/test/hook_runner_test "[.bench]"
TEST_CASE("bench: hook runs per second for a trivial script", "[.bench]") {
  const int n = 200;
  Harness h;
  h.set_scripts({{"session.open", "import os\nassert os.environ['HOOP_RUNBOOK_HOOK_PAYLOAD']\n"}});
  h.append(std::vector<std::string>(n, "session.open"));
  hookd::HookRunnerOptions o;
  o.concurrency = 4;
  auto start = std::chrono::steady_clock::now();
  h.start_runner(o);
  REQUIRE(wait_until([&] { return h.cursor() == h.last_seq(); }, 300s));
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  auto stats = boost::json::parse(h.runner->stats_json());
  CHECK(stats.at("runs").at("ok") == n);
  std::printf("hook runs: %d in %.2f s = %.1f runs/s (concurrency 4, %s)\n", n, elapsed.count(),
              n / elapsed.count(), kPython.c_str());
}
