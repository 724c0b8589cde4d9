// Hook containment with real processes: the contained spawn itself, and the
// real daemon in each containment mode this machine offers (the others are
// skipped, naming what is missing): escapes by setsid and double fork, a
// drain, a fork storm, a memory hog and an unprivileged hook user. Each
// daemon scenario runs under both executors (spawn, and prewarm once its
// zygote is ready), which must contain a run alike.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "hookd/hooks/containment.h"
#include "hookd/hooks/process.h"
#include "support/runbooks_repos.h"
#include "support/skip.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::read_file;
using hookd::test::TempDir;
using hookd::test::wait_until;

namespace {

const std::string kPython = "/usr/bin/python3";

// ---------------------------------------------------------------------------
// Processes, by pid, from /proc.

std::string proc_file(int pid, const char* name) {
  return read_file("/proc/" + std::to_string(pid) + "/" + name);
}

// Still running the `sleep 271` the scripts start (a zombie's cmdline is
// empty, and a recycled pid runs something else).
bool survives(int pid) {
  return proc_file(pid, "cmdline") == std::string(
                                          "sleep\0"
                                          "271\0",
                                          10);
}

// Gone for good: not even a zombie waiting for hookd to reap it.
bool reaped(int pid) {
  auto stat = proc_file(pid, "stat");
  if (stat.empty()) return true;
  auto state = stat.substr(stat.rfind(')') + 2, 1);
  return state != "Z" && !survives(pid);
}

std::vector<int> read_pids(const fs::path& file) {
  std::vector<int> pids;
  std::istringstream in(read_file(file));
  for (int pid; in >> pid;)
    pids.push_back(pid);
  return pids;
}

// ---------------------------------------------------------------------------
// Which modes this machine offers, asked the way the daemon asks.

struct ModeProbe {
  std::string missing;       // empty: offered
  std::string memory, pids;  // "cgroup", "rlimit" or "off", when offered
};

ModeProbe probe(const std::string& mode) {
  ModeProbe p;
  if (mode == "subreaper") {
    // The daemon makes itself the subreaper: every Linux offers it.
    p.memory = "rlimit";
    p.pids = "rlimit";
    return p;
  }
  hookd::ContainmentOptions o;
  REQUIRE(hookd::parse_mode(mode, o.mode));
  auto c = hookd::Containment::open(o);
  if (!c) {
    p.missing = c.error().message;
    return p;
  }
  auto limits = boost::json::parse((*c)->describe_json()).at("limits");
  p.memory = limits.at("memory_bytes").at("enforced_by").as_string().c_str();
  p.pids = limits.at("pids").at("enforced_by").as_string().c_str();
  return p;
}

// ---------------------------------------------------------------------------
// The real daemon over a runbooks repository of the given scripts.

struct Contained {
  TempDir repo_dir, out_dir, data_dir;
  fs::path repo = repo_dir.path() / "runbooks";
  fs::path out = out_dir.path();
  fs::path data = data_dir.path();
  std::unique_ptr<Daemon> daemon;
  int events = 0;

  std::string executor;

  Contained(const std::string& mode, const std::string& executor,
            const std::map<std::string, std::string>& scripts, std::vector<std::string> extra = {})
      : executor(executor) {
    hookd::test::make_runbooks_repo(repo, false);
    for (const auto& [name, body] : scripts)
      hookd::test::commit_script(repo, name, body);
    // The hook user writes its records here.
    fs::permissions(out, fs::perms::all);
    DaemonOptions o;
    o.data_dir = data;
    o.args = {"--git-url",
              repo.string(),
              "--git-hook-config-ttl",
              "3600",
              "--hook-containment",
              mode,
              "--hook-timeout",
              "20s",
              "--hook-kill-grace",
              "500ms",
              "--drain-timeout",
              "6s",
              "--hook-env",
              "OUT_DIR=" + out.string(),
              "--hook-env",
              "HOOKD_DATA=" + data.string(),
              "--hook-executor",
              executor};
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    daemon = std::make_unique<Daemon>(hookd::test::with_read_token(o));
    if (executor == "prewarm") {
      INFO(daemon->log());
      REQUIRE(wait_until(
          [&] { return metrics().find("\nhookd_hook_zygote_ready 1") != std::string::npos; }, 60s));
    }
  }

  // The prewarm zygote (a child of the daemon running hookd-zygote), or 0.
  int zygote_pid() {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      int pid = std::atoi(entry.path().filename().c_str());
      if (pid <= 0) continue;
      if (proc_file(pid, "cmdline").find("hookd-zygote") == std::string::npos) continue;
      std::istringstream status(proc_file(pid, "status"));
      for (std::string line; std::getline(status, line);) {
        if (line.rfind("PPid:", 0) == 0 && std::atoi(line.c_str() + 5) == daemon->pid()) return pid;
      }
    }
    return 0;
  }

  // Posts an event of `type`; its id.
  std::string post(const std::string& type) {
    std::string id = "evt_contain_" + std::to_string(++events);
    auto body = R"({"id":")" + id + R"(","type":")" + type + R"(","payload":{"n":1}})";
    auto reply = hookd::test::post_json(daemon->port(), "/v1/events", body);
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    return id;
  }

  boost::json::object view(const std::string& id) {
    auto reply = hookd::test::authorized_get(daemon->port(), "/v1/events/" + id);
    if (reply.status != 200) return {};
    return boost::json::parse(reply.body).as_object();
  }

  // The "hook" part of GET /v1/events/{id} once the run has finished.
  boost::json::object finished(const std::string& id) {
    boost::json::object hook;
    bool done = wait_until(
        [&] {
          auto v = view(id);
          auto it = v.find("hook");
          if (it == v.end() || !it->value().is_object()) return false;
          hook = it->value().as_object();
          return hook.at("outcome") != "running";
        },
        60s);
    INFO(daemon->log());
    REQUIRE(done);
    INFO(boost::json::serialize(hook));
    CHECK(hook.at("executor") == boost::json::value(executor));
    return hook;
  }

  boost::json::value readyz() {
    return boost::json::parse(hookd::test::http(daemon->port(), "GET", "/readyz").body);
  }

  std::string metrics() { return hookd::test::http(daemon->port(), "GET", "/metrics").body; }

  std::vector<int> wait_pids(const std::string& name, std::size_t at_least) {
    auto file = out / (name + ".pids");
    INFO(daemon->log());
    REQUIRE(wait_until([&] { return read_pids(file).size() >= at_least; }, 30s));
    return read_pids(file);
  }

  // Still serving, and a plain hook still runs.
  void still_fine(const std::string& plain_type) {
    CHECK(hookd::test::http(daemon->port(), "GET", "/healthz").status == 200);
    auto hook = finished(post(plain_type));
    CHECK(hook.at("outcome") == "ok");
  }
};

// A hook that starts `sleep 271` in a session of its own (setsid), and/or a
// daemon by double fork (fork, setsid, fork: it ends up orphaned), writes
// their pids to $OUT_DIR/<name>.pids, then exits 0 or blocks.
std::string escaping_script(const std::string& name, bool setsid, bool daemon, bool block) {
  std::string text = R"(import os, subprocess, sys, time
out = os.environ["OUT_DIR"]
pids = []
if @SETSID@:
    path = os.path.join(out, "@NAME@.setsid")
    subprocess.Popen(["setsid", "sh", "-c", "echo $$ > %s.tmp; mv %s.tmp %s; exec sleep 271"
                      % (path, path, path)])
    while not os.path.exists(path):
        time.sleep(0.01)
    pids.append(int(open(path).read()))
if @DAEMON@:
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.execvp("sleep", ["sleep", "271"])
        os._exit(0)
    os.close(w)
    pids.append(int(os.read(r, 32)))
    os.wait()
with open(os.path.join(out, "@NAME@.tmp"), "w") as f:
    f.write(" ".join(str(p) for p in pids))
os.rename(os.path.join(out, "@NAME@.tmp"), os.path.join(out, "@NAME@.pids"))
print("started", pids, flush=True)
if @BLOCK@:
    time.sleep(1000)
sys.exit(0)
)";
  auto replace = [&](const std::string& token, const std::string& value) {
    for (auto at = text.find(token); at != std::string::npos; at = text.find(token))
      text.replace(at, token.size(), value);
  };
  replace("@NAME@", name);
  replace("@SETSID@", setsid ? "True" : "False");
  replace("@DAEMON@", daemon ? "True" : "False");
  replace("@BLOCK@", block ? "True" : "False");
  return text;
}

const std::string kPlain = "print('plain')\n";

// Tries to start 300 children; exits 3 once a fork is refused.
const std::string kForkStorm = R"(import os, subprocess, sys
out = os.environ["OUT_DIR"]
started = []
def record():
    with open(os.path.join(out, "storm.tmp"), "w") as f:
        f.write(" ".join(str(p) for p in started))
    os.rename(os.path.join(out, "storm.tmp"), os.path.join(out, "storm.pids"))
try:
    for i in range(300):
        started.append(subprocess.Popen(["sleep", "271"]).pid)
except OSError as e:
    record()
    print("fork refused after %d children: %s" % (len(started), e))
    sys.exit(3)
record()
print("started all 300")
)";

const std::string kMemoryHog = "data = b'x' * (1 << 30)\nprint(len(data))\n";

// What the hook sees of itself, in $OUT_DIR/identity.json.
const std::string kIdentity = R"(import json, os
out, data = os.environ["OUT_DIR"], os.environ["HOOKD_DATA"]
def can_write(d):
    try:
        with open(os.path.join(d, "hook-was-here"), "w") as f:
            f.write("x")
        return True
    except OSError:
        return False
nnp = [l for l in open("/proc/self/status").read().splitlines() if l.startswith("NoNewPrivs:")]
record = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "egid": os.getegid(),
          "groups": os.getgroups(), "no_new_privs": nnp[0].split()[1] if nnp else "",
          "data_dir_writable": can_write(data),
          "hook_runs_writable": can_write(os.path.join(data, "hook-runs")),
          "home_writable": can_write(os.environ["HOME"])}
with open(os.path.join(out, "identity.tmp"), "w") as f:
    json.dump(record, f)
os.rename(os.path.join(out, "identity.tmp"), os.path.join(out, "identity.json"))
print("recorded")
)";

const std::vector<std::string> kExecutors = {"spawn", "prewarm"};

// Says what its directory looked like when it started, then leaves
// something behind for the next run: the first an opened-up mode, the
// second a file and a subdirectory, the third an extended attribute.
const std::string kLitter = R"(import json, os
cwd, out = os.getcwd(), os.environ["OUT_DIR"]
try:
    attrs = os.listxattr(cwd)
except OSError:
    attrs = []
seen = {"cwd": cwd, "entries": sorted(os.listdir(cwd)), "mode": os.stat(cwd).st_mode & 0o7777,
        "attrs": attrs, "home": os.environ["HOME"] == cwd}
log = os.path.join(out, "dirs.jsonl")
run = len(open(log).read().splitlines()) if os.path.exists(log) else 0
with open(log, "a") as f:
    f.write(json.dumps(seen) + "\n")
if run == 0:
    os.chmod(cwd, 0o777)
elif run == 1:
    with open("left-behind.txt", "w") as f:
        f.write("for the next run")
    os.mkdir("sub")
elif run == 2:
    try:
        os.setxattr(cwd, "user.note", b"hi")
    except OSError:
        pass
)";

#define HOOKD_REQUIRE_MODE(mode)                                                \
  ModeProbe offered = probe(mode);                                              \
  if (!offered.missing.empty()) {                                               \
    HOOKD_SKIP(std::string(mode) + " is not offered here: " + offered.missing); \
  }

// --- the scenarios, run once per mode --------------------------------------

void escapes_end_with_the_run(const std::string& mode, const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  Contained c(mode, executor,
              {{"session-open.runbook.py", escaping_script("setsid", true, false, false)},
               {"session-close.runbook.py", escaping_script("daemon", false, true, false)},
               {"both-done.runbook.py", escaping_script("both", true, true, false)}});
  CHECK(c.readyz().at("hook_containment").at("mode") == boost::json::value(mode));
  using Case = std::tuple<std::string, std::string, int>;
  for (const auto& [type, name, count] : std::vector<Case>{{"session.open", "setsid", 1},
                                                           {"session.close", "daemon", 1},
                                                           {"both.done", "both", 2}}) {
    INFO(name);
    auto hook = c.finished(c.post(type));
    auto pids = c.wait_pids(name, static_cast<std::size_t>(count));
    CHECK(hook.at("outcome") == "ok");
    CHECK(hook.at("processes_killed").to_number<int>() >= count);
    // The run is reported finished only once its containment has ended it.
    for (int pid : pids) {
      INFO("pid " << pid);
      CHECK_FALSE(survives(pid));
      CHECK(wait_until([&] { return reaped(pid); }, 10s));
    }
  }
  CHECK(c.metrics().find("hookd_hook_containment_mode{mode=\"" + mode + "\"} 1") !=
        std::string::npos);
  CHECK(c.daemon->log().find("hooks run as root") != std::string::npos);
}

void escapes_end_with_the_daemon(const std::string& mode, const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  Contained c(mode, executor,
              {{"both-block.runbook.py", escaping_script("blocked", true, true, true)}});
  auto id = c.post("both.block");
  auto pids = c.wait_pids("blocked", 2);
  REQUIRE(c.view(id).at("hook").at("outcome") == "running");
  // A pid is written just before its process execs sleep; on a loaded box the
  // exec can land a moment after the file does.
  for (int pid : pids)
    REQUIRE(wait_until([&] { return survives(pid); }, 10s));
  INFO(c.daemon->log());
  CHECK(c.daemon->terminate() == 0);
  for (int pid : pids) {
    INFO("pid " << pid);
    CHECK_FALSE(survives(pid));
  }
}

void fork_storm_fails_inside_the_hook(const std::string& mode, const std::string& executor,
                                      std::vector<std::string> extra) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  bool as_user = !extra.empty();
  if (offered.pids == "off" || (offered.pids == "rlimit" && !as_user)) {
    HOOKD_SKIP(mode + " has no pids controller here, and RLIMIT_NPROC does not bind root");
  }
  extra.insert(extra.end(), {"--hook-pids-max", "32"});
  Contained c(mode, executor,
              {{"fork-storm.runbook.py", kForkStorm}, {"session-open.runbook.py", kPlain}}, extra);
  auto hook = c.finished(c.post("fork.storm"));
  INFO(boost::json::serialize(hook));
  CHECK(hook.at("outcome") == "failed");
  CHECK(hook.at("exit_code") == 3);
  CHECK(std::string(hook.at("output").as_string()).find("fork refused after") != std::string::npos);
  auto pids = read_pids(c.out / "storm.pids");
  CHECK(pids.size() < 32);
  for (int pid : pids) {
    INFO("pid " << pid);
    CHECK(wait_until([&] { return reaped(pid); }, 10s));
  }
  c.still_fine("session.open");
}

void memory_hog_is_oom(const std::string& mode, const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  if (offered.memory != "cgroup") {
    HOOKD_SKIP(mode + " has no memory controller here (memory limit: " + offered.memory + ")");
  }
  Contained c(mode, executor,
              {{"memory-hog.runbook.py", kMemoryHog}, {"session-open.runbook.py", kPlain}},
              {"--hook-memory-max", "64MiB"});
  auto id = c.post("memory.hog");
  auto hook = c.finished(id);
  INFO(boost::json::serialize(hook));
  CHECK(hook.at("outcome") == "oom");
  CHECK(c.metrics().find("hookd_hook_runs_total{outcome=\"oom\"} 1") != std::string::npos);
  // The emptied cgroup goes to the next run with its counter files still
  // open: a plain run in it is no oom, and another hog in it is one again.
  c.still_fine("session.open");
  auto again = c.finished(c.post("memory.hog"));
  INFO(boost::json::serialize(again));
  CHECK(again.at("outcome") == "oom");
  CHECK(c.metrics().find("hookd_hook_runs_total{outcome=\"oom\"} 2") != std::string::npos);
  c.still_fine("session.open");
}

void hook_user_is_unprivileged(const std::string& mode, const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) HOOKD_SKIP("no user nobody here");
  if (::geteuid() != 0) HOOKD_SKIP("switching to the hook user needs root");
  uid_t uid = nobody->pw_uid;
  gid_t gid = nobody->pw_gid;
  Contained c(mode, executor, {{"session-open.runbook.py", kIdentity}}, {"--hook-user", "nobody"});
  auto hook = c.finished(c.post("session.open"));
  INFO(boost::json::serialize(hook));
  INFO(c.daemon->log());
  REQUIRE(hook.at("outcome") == "ok");
  auto seen = boost::json::parse(read_file(c.out / "identity.json")).as_object();
  INFO(boost::json::serialize(seen));
  CHECK(seen.at("uid") == uid);
  CHECK(seen.at("euid") == uid);
  CHECK(seen.at("gid") == gid);
  CHECK(seen.at("egid") == gid);
  for (const auto& g : seen.at("groups").as_array())
    CHECK(g != 0);
  CHECK(seen.at("no_new_privs") == "1");
  CHECK(seen.at("data_dir_writable") == false);
  CHECK(seen.at("hook_runs_writable") == false);
  CHECK(seen.at("home_writable") == true);
  CHECK_FALSE(fs::exists(c.data / "hook-was-here"));
  CHECK(c.readyz().at("hook_containment").at("user") == "nobody");
  CHECK(c.daemon->log().find("hooks run as root") == std::string::npos);
  if (executor == "prewarm") {
    // The zygote itself holds no more than a run: the hook user, no_new_privs.
    int zygote = c.zygote_pid();
    REQUIRE(zygote > 0);
    auto status = proc_file(zygote, "status");
    INFO(status);
    CHECK(status.find("Uid:\t" + std::to_string(uid) + "\t" + std::to_string(uid)) !=
          std::string::npos);
    CHECK(status.find("NoNewPrivs:\t1") != std::string::npos);
  }
}

// A contained run's directory may serve a later run (IdleRunDirs), but only
// as mkdtemp made it: whatever a run left there, the next one starts empty.
void each_run_starts_in_a_clean_directory(const std::string& mode, const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  Contained c(mode, executor, {{"session-open.runbook.py", kLitter}});
  for (int i = 0; i < 4; ++i) {
    auto hook = c.finished(c.post("session.open"));
    INFO(boost::json::serialize(hook));
    REQUIRE(hook.at("outcome") == "ok");
  }
  std::vector<std::string> dirs;
  std::istringstream lines(read_file(c.out / "dirs.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    auto seen = boost::json::parse(line).as_object();
    CHECK(seen.at("entries").as_array().empty());
    CHECK(seen.at("attrs").as_array().empty());
    CHECK(seen.at("mode") == 0700);
    CHECK(seen.at("home") == true);
    dirs.push_back(std::string(seen.at("cwd").as_string()));
  }
  REQUIRE(dirs.size() == 4);
  // One run at a time, and the first left only its mode changed: the
  // second ran in its directory, put back. The second's file kept its
  // directory from the third.
  CHECK(dirs[1] == dirs[0]);
  CHECK(dirs[2] != dirs[1]);
}

// A hookd killed outright leaves its runs' cgroups; the next one on the
// machine ends what is in them.
void a_dead_hookds_runs_end_at_the_next_start(const std::string& mode,
                                              const std::string& executor) {
  INFO(executor);
  HOOKD_REQUIRE_MODE(mode);
  Contained c(mode, executor,
              {{"both-block.runbook.py", escaping_script("orphaned", true, true, true)}});
  c.post("both.block");
  auto pids = c.wait_pids("orphaned", 2);
  c.daemon->kill9();
  // A pid is written just before its process execs sleep; on a loaded box the
  // exec can land a moment after the file does.
  for (int pid : pids)
    REQUIRE(wait_until([&] { return survives(pid); }, 10s));
  c.daemon->restart();
  for (int pid : pids) {
    INFO("pid " << pid);
    CHECK(wait_until([&] { return !survives(pid); }, 10s));
  }
  CHECK(c.daemon->log().find("removed a dead hookd's hook cgroups") != std::string::npos);
}

// ---------------------------------------------------------------------------
// The contained spawn itself, in-process (mode none: no cgroups needed).

hookd::ProcessResult run(hookd::ProcessOptions options) {
  boost::asio::io_context io;
  std::optional<hookd::ProcessResult> result;
  hookd::run_process(io, std::move(options),
                     [&](hookd::ProcessResult r) { result = std::move(r); });
  io.run_for(60s);
  REQUIRE(result.has_value());
  return *result;
}

std::shared_ptr<hookd::Containment> uncaged() {
  hookd::ContainmentOptions o;
  o.mode = hookd::ContainmentMode::none;
  auto c = hookd::Containment::open(o);
  REQUIRE(c.ok());
  return *c;
}

}  // namespace

TEST_CASE("a contained child leads its own session with no_new_privs and the rlimits",
          "[containment]") {
  auto containment = uncaged();
  auto cage = containment->open_run({});
  REQUIRE(cage.ok());
  TempDir dir;
  hookd::ProcessOptions o;
  o.argv = {kPython, "-c", R"(import os, resource
print(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid())
print([l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0])
print(resource.getrlimit(resource.RLIMIT_CORE), resource.getrlimit(resource.RLIMIT_NOFILE))
print(os.getcwd(), os.environ["ONLY"], len(os.listdir("/proc/self/fd")))
)"};
  o.env = {"ONLY=this"};
  o.cwd = dir.path();
  o.setup = (*cage)->setup();
  auto r = run(o);
  INFO(r.output << r.spawn_error);
  CHECK(r.exit_code == 0);
  CHECK(r.output ==
        "True True\n1\n(0, 0) (256, 256)\n" + fs::canonical(dir.path()).string() + " this 4\n");
}

TEST_CASE("a contained child starts with default signal dispositions and an empty mask",
          "[containment]") {
  auto containment = uncaged();
  auto cage = containment->open_run({});
  REQUIRE(cage.ok());
  auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);
  hookd::ProcessOptions o;
  o.argv = {"/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};
  o.setup = (*cage)->setup();
  auto r = run(o);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::signal(SIGPIPE, old_pipe);
  auto mask = [&](const std::string& name) {
    auto at = r.output.find(name + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(r.output.substr(at + name.size() + 2, 16), nullptr, 16);
  };
  CHECK(mask("SigBlk") == 0);
  CHECK(mask("SigIgn") == 0);
}

TEST_CASE("a contained spawn that cannot exec is a spawn error naming the executable",
          "[containment]") {
  auto containment = uncaged();
  auto cage = containment->open_run({});
  REQUIRE(cage.ok());
  hookd::ProcessOptions o;
  o.argv = {"/nonexistent/python3", "script.py"};
  o.setup = (*cage)->setup();
  auto r = run(o);
  CHECK(r.spawn_error.find("/nonexistent/python3") != std::string::npos);
  CHECK(r.pid == 0);
  o.argv = {kPython, "-c", "pass"};
  o.cwd = "/nonexistent-dir";
  r = run(o);
  CHECK(r.spawn_error.find("chdir") != std::string::npos);
}

TEST_CASE("an unknown --hook-user stops start-up with exit code 2", "[containment]") {
  TempDir dir;
  std::string output;
  int rc = hookd::test::run_command(std::string(HOOKD_BINARY) + " --data-dir " +
                                        (dir.path() / "data").string() +
                                        " --git-url /nonexistent --git-hook-config-ttl 60"
                                        " --hook-user no-such-hookd-user",
                                    &output);
  INFO(output);
  CHECK(rc == 2);
  CHECK(output.find("--hook-user") != std::string::npos);
}

// One case per scenario and mode, so each is its own ctest entry and a mode
// the machine lacks shows as skipped.
TEST_CASE("cgroup-v2: processes a hook leaves are gone when its run ends", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_run("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: processes a hook leaves are gone when its run ends", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_run("cgroup-v1", executor);
}
TEST_CASE("subreaper: processes a hook leaves are gone when its run ends", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_run("subreaper", executor);
}
TEST_CASE("cgroup-v2: a running hook's processes are gone after SIGTERM", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_daemon("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: a running hook's processes are gone after SIGTERM", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_daemon("cgroup-v1", executor);
}
TEST_CASE("subreaper: a running hook's processes are gone after SIGTERM", "[containment]") {
  for (const auto& executor : kExecutors)
    escapes_end_with_the_daemon("subreaper", executor);
}
TEST_CASE("cgroup-v2: a fork storm fails inside the hook", "[containment]") {
  for (const auto& executor : kExecutors)
    fork_storm_fails_inside_the_hook("cgroup-v2", executor, {});
}
TEST_CASE("cgroup-v1: a fork storm fails inside the hook", "[containment]") {
  for (const auto& executor : kExecutors)
    fork_storm_fails_inside_the_hook("cgroup-v1", executor, {});
}
TEST_CASE("subreaper: a fork storm of the hook user fails inside the hook", "[containment]") {
  if (::getpwnam("nobody") == nullptr) HOOKD_SKIP("no user nobody here");
  for (const auto& executor : kExecutors)
    fork_storm_fails_inside_the_hook("subreaper", executor, {"--hook-user", "nobody"});
}
TEST_CASE("cgroup-v2: a hook over the memory limit is outcome oom", "[containment]") {
  for (const auto& executor : kExecutors)
    memory_hog_is_oom("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: a hook over the memory limit is outcome oom", "[containment]") {
  for (const auto& executor : kExecutors)
    memory_hog_is_oom("cgroup-v1", executor);
}
TEST_CASE("subreaper: a hook over the memory limit fails its allocation", "[containment]") {
  HOOKD_REQUIRE_MODE("subreaper");
  for (const auto& executor : kExecutors) {
    INFO(executor);
    Contained c("subreaper", executor, {{"memory-hog.runbook.py", kMemoryHog}},
                {"--hook-memory-max", "64MiB"});
    auto hook = c.finished(c.post("memory.hog"));
    INFO(boost::json::serialize(hook));
    CHECK(hook.at("outcome") == "failed");
    CHECK(std::string(hook.at("output").as_string()).find("MemoryError") != std::string::npos);
  }
}
TEST_CASE("cgroup-v2: hooks run as the unprivileged hook user", "[containment]") {
  for (const auto& executor : kExecutors)
    hook_user_is_unprivileged("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: hooks run as the unprivileged hook user", "[containment]") {
  for (const auto& executor : kExecutors)
    hook_user_is_unprivileged("cgroup-v1", executor);
}
TEST_CASE("subreaper: hooks run as the unprivileged hook user", "[containment]") {
  for (const auto& executor : kExecutors)
    hook_user_is_unprivileged("subreaper", executor);
}
TEST_CASE("cgroup-v2: each run starts in an empty directory of its own", "[containment]") {
  for (const auto& executor : kExecutors)
    each_run_starts_in_a_clean_directory("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: each run starts in an empty directory of its own", "[containment]") {
  for (const auto& executor : kExecutors)
    each_run_starts_in_a_clean_directory("cgroup-v1", executor);
}
TEST_CASE("cgroup-v2: what a killed hookd left is ended by the next one", "[containment]") {
  for (const auto& executor : kExecutors)
    a_dead_hookds_runs_end_at_the_next_start("cgroup-v2", executor);
}
TEST_CASE("cgroup-v1: what a killed hookd left is ended by the next one", "[containment]") {
  for (const auto& executor : kExecutors)
    a_dead_hookds_runs_end_at_the_next_start("cgroup-v1", executor);
}

// Not a test: how fast contained children start, run with
//   build-dev/test/integration_hook_containment_test "[.bench]"
// Variants take turns, and each one's best round is reported, so load from
// elsewhere on the machine weighs on all of them alike.
TEST_CASE("bench: contained spawns per second", "[.bench]") {
  const int per_round = 200, rounds = 6;
  TempDir dir;
  std::vector<std::pair<std::string, std::shared_ptr<hookd::Containment>>> variants = {
      {"posix_spawn, process group only", nullptr}, {"contained spawn, mode none", uncaged()}};
  for (auto mode : {hookd::ContainmentMode::cgroup_v1, hookd::ContainmentMode::cgroup_v2}) {
    hookd::ContainmentOptions o;
    o.mode = mode;
    auto c = hookd::Containment::open(o);
    std::string name = "contained spawn + cage, " + std::string(hookd::mode_name(mode));
    if (!c) {
      std::printf("%-36s not offered: %s\n", name.c_str(), c.error().message.c_str());
      continue;
    }
    variants.emplace_back(name, *c);
  }
  std::vector<double> best(variants.size(), 0);
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t v = 0; v < variants.size(); ++v) {
      auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < per_round; ++i) {
        hookd::ProcessOptions o;
        o.argv = {"/bin/true"};
        o.cwd = dir.path();
        std::unique_ptr<hookd::RunCage> cage;
        if (variants[v].second) {
          auto opened = variants[v].second->open_run({});
          REQUIRE(opened.ok());
          cage = std::move(*opened);
          o.setup = cage->setup();
        }
        auto r = run(o);
        REQUIRE(r.exit_code == 0);
        if (cage) cage->end();
      }
      std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
      best[v] = std::max(best[v], per_round / elapsed.count());
    }
  }
  for (std::size_t v = 0; v < variants.size(); ++v) {
    std::printf("%-36s best of %d rounds: %.0f runs/s of /bin/true\n", variants[v].first.c_str(),
                rounds, best[v]);
  }
}
