#include "hookd/hooks/zygote.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>

#include "hookd/core/log.h"
#include "hookd/core/utf8.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/output_capture.h"
#include "hookd/hooks/zygote_channel.h"
#include "hookd/hooks/zygote_process.h"
#include "hookd/hooks/zygote_protocol.h"
#include "hookd/hooks/zygote_runs.h"
#include "hookd/hooks/zygote_setup.h"

namespace hookd {
namespace {

using Clock = std::chrono::steady_clock;
using Tag = ZygoteTag;
using Type = ZygoteMessageType;

// execve refuses a single argument or environment string this long; such a
// run goes to spawn, which reports that as it always has.
constexpr std::size_t kMaxExecString = 128 * 1024;
// A zygote lives until it is retired or dies, never until a timeout.
constexpr std::chrono::milliseconds kNoTimeout = std::chrono::hours(24 * 365 * 10);
// How long a RUN whose zygote was ended may still wait for its answer: the
// kill grace and the draining of its socket.
constexpr std::chrono::milliseconds kEndingTimeout{8000};
// Added to the zygote's process environment only, never to a run's (LOAD
// does not carry it, so the zygote removes it).
constexpr std::string_view kBindNow = "LD_BIND_NOW=1";

ZygoteMessage load_message(const ZygoteOptions& options) {
  ZygoteMessage m{Type::load, {}};
  m.add(Tag::interpreter, options.interpreter);
  for (const auto& e : options.env)
    m.add(Tag::env, e);
  for (const auto& module : options.preload)
    m.add(Tag::preload, module);
  for (const auto& script : options.scripts)
    m.add(Tag::script, script.string());
  return m;
}

ZygoteMessage run_message(std::uint64_t id, const HookRun& run,
                          const std::vector<std::string>& params) {
  const auto& argv = run.process.argv;
  ZygoteMessage m{Type::run, {}};
  m.add_u64(Tag::run_id, id);
  m.add(Tag::script, argv.at(1));
  for (std::size_t i = 1; i < argv.size(); ++i)
    m.add(Tag::arg, argv[i]);
  for (const auto& e : run.process.env)
    m.add(Tag::env, e);
  m.add(Tag::cwd, run.process.cwd.string());
  for (const auto& p : params)
    m.add(Tag::param, p);
  return m;
}

// The pid a pidfd refers to (its "Pid:" in /proc/self/fdinfo), or -1.
int pidfd_pid(int pidfd) {
  std::string path = "/proc/self/fdinfo/" + std::to_string(pidfd);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[512];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  const char* at = std::strstr(text, "\nPid:");
  return at == nullptr ? -1 : std::atoi(at + 5);
}

// Whether `pid` is a child of `parent` and leads its own process group
// (/proc/<pid>/stat: ppid and pgrp), which is what a zygote's run child is.
bool child_leading_its_group(int pid, int parent) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[1024];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return false;
  text[n] = '\0';
  const char* end = std::strrchr(text, ')');  // the name may hold anything but ')'-last
  int ppid = 0, pgrp = 0;
  char state = 0;
  if (end == nullptr || std::sscanf(end + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) return false;
  return ppid == parent && pgrp == pid;
}

// PIDFD_GET_INFO (Linux 6.13; glibc 2.36 has no header for it): the pid and
// parent of a pidfd's process in one ioctl, instead of two /proc files.
struct PidfdInfo {
  std::uint64_t mask = 0, cgroupid = 0;
  std::uint32_t pid = 0, tgid = 0, ppid = 0, ruid = 0, rgid = 0, euid = 0, egid = 0, suid = 0,
                sgid = 0, fsuid = 0, fsgid = 0, spare = 0;
};
static_assert(sizeof(PidfdInfo) == 64, "PIDFD_INFO_SIZE_VER0");
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr std::uint64_t kPidfdInfoPid = 1;

// Whether the pidfd's process is `pid`, a child of `parent` leading its own
// process group, which is what a zygote's run child is.
bool pidfd_is_child_leading_its_group(int pidfd, int pid, int parent) {
  PidfdInfo info;
  info.mask = kPidfdInfoPid;
  if (::ioctl(pidfd, kPidfdGetInfo, &info) == 0 && (info.mask & kPidfdInfoPid)) {
    return static_cast<int>(info.pid) == pid && static_cast<int>(info.ppid) == parent &&
           ::getpgid(pid) == pid;
  }
  if (errno != ENOTTY && errno != EINVAL) return false;  // an older kernel: ask /proc
  return pidfd_pid(pidfd) == pid && child_leading_its_group(pid, parent);
}

// A raw wait status as the zygote reported it, if it is one.
std::optional<int> wait_status(const ZygoteMessage& m) {
  auto status = m.get_u64(Tag::status);
  if (!status || *status > 0xFFFF) return std::nullopt;
  int s = static_cast<int>(*status);
  if (!WIFEXITED(s) && !WIFSIGNALED(s)) return std::nullopt;
  return s;
}

}  // namespace

const char* zygote_bootstrap() {
  // `-c` puts '' (the cwd) first on sys.path; it goes before the first
  // import, and the zygote puts the scripts' directory there instead.
  return "#hookd-zygote\n"
         "import sys;p=sys.path[:1]==[''] and not sys.flags.safe_path\n"
         "if p:del sys.path[0]\n"
         "import socket;c=socket.socket(fileno=0)\n"
         "exec(compile(c.recv(1<<20),'hookd-zygote.py','exec'),"
         "{'__name__':'hookd_zygote','control':c,'path0':p})\n";
}

const char* zygote_source() {
  return
#include "zygote_source.inc"
      ;
}

// ---------------------------------------------------------------------------
// The conversation. Records arrive on the ZygoteProcess's strand; fork_run()
// and reap() come from other threads; what they share is `runs` and what is
// under `mutex`.

struct Zygote::State : std::enable_shared_from_this<Zygote::State> {
  enum class Phase { loading, ready, retiring, gone };

  State(ZygoteOptions o, std::function<void(const ZygoteEnd&)> e)
      : options(std::move(o)), ended(std::move(e)) {}

  ~State() {
    if (null_fd >= 0) ::close(null_fd);
  }

  void start(boost::asio::io_context& io) {
    started_at = Clock::now();
    null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ProcessOptions p;
    p.argv = {options.interpreter, "-c", zygote_bootstrap(), "hookd-zygote", options.commit};
    p.env = options.env;
    // The loader binds every symbol at start-up, once, instead of each child
    // binding (and so copying the pages of) those it calls first; the zygote
    // takes it out of its environment before anything reads it (zygote.py).
    if (std::none_of(p.env.begin(), p.env.end(),
                     [](const std::string& e) { return e.starts_with("LD_BIND_NOW="); })) {
      p.env.push_back(std::string(kBindNow));
    }
    p.cwd = options.dir;
    p.timeout = kNoTimeout;
    p.output_max_bytes = options.output_max_bytes;
    p.setup = options.setup;
    std::weak_ptr<State> weak = shared_from_this();
    ZygoteProcess::Handlers handlers;
    handlers.record = [weak](const ZygoteMessage& m, std::vector<int>& fds) {
      auto self = weak.lock();
      return self && self->on_record(m, fds);
    };
    handlers.closed = [weak](bool drained, const std::string& why) {
      if (auto self = weak.lock()) self->on_closed(drained, why);
    };
    handlers.ended = [weak](bool forced, const std::string& why) {
      if (auto self = weak.lock()) self->on_ended(forced, why);
    };
    process = ZygoteProcess::start(io, std::move(p),
                                   {zygote_source(), encode_zygote_message(load_message(options))},
                                   std::move(handlers));
    {
      std::lock_guard lock(mutex);
      zygote_pid = process->pid();
    }
    if (null_fd < 0) return process->give_up("/dev/null cannot be opened");
    if (zygote_pid > 0) {
      log::info("hook zygote starting", {{"commit", options.commit}, {"pid", zygote_pid}});
    }
    process->set_deadline(options.load_timeout, [weak] {
      auto self = weak.lock();
      if (self && self->phase_is(Phase::loading)) self->process->give_up("did not load in time");
    });
  }

  bool phase_is(Phase p) {
    std::lock_guard lock(mutex);
    return phase == p;
  }

  void set_phase_retiring() {
    std::lock_guard lock(mutex);
    if (phase != Phase::gone) phase = Phase::retiring;
  }

  // -------------------------------------------------------------- replies

  // False: not believed (the zygote is ended). Closes what of `fds` it does not keep.
  bool on_record(const ZygoteMessage& m, std::vector<int>& fds) {
    if (m.type == Type::started) return on_started(m, fds);
    if (!fds.empty()) return refuse("descriptors with a message that carries none");
    switch (m.type) {
      case Type::ready:
        return on_ready(m);
      case Type::failed:
        return on_failed(m);
      case Type::status:
        return on_status(m);
      case Type::error:
        return refuse("the zygote refused a record: " +
                      std::string(m.get(Tag::error).value_or("")));
      default:
        return refuse("unknown message type " + std::to_string(int(m.type)));
    }
  }

  bool refuse(const std::string& what) {
    log::error("hook zygote protocol error", {{"commit", options.commit}, {"error", what}});
    process->give_up("protocol error: " + what);
    return false;
  }

  bool on_ready(const ZygoteMessage& m) {
    if (auto error = m.get(Tag::error)) {
      // It exits by itself; its end reports this.
      std::lock_guard lock(mutex);
      unsupported = std::string(*error);
      return true;
    }
    const char* wrong = nullptr;
    {
      std::lock_guard lock(mutex);
      if (was_ready) {
        wrong = "READY twice";
      } else if (m.get_u64(Tag::pid) != static_cast<std::uint64_t>(zygote_pid)) {
        wrong = "READY names another pid";
      } else {
        for (auto script : m.all(Tag::script))
          compiled.insert(std::string(script));
        was_ready = true;
        if (phase == Phase::loading) phase = Phase::ready;
      }
    }
    if (wrong != nullptr) return refuse(wrong);
    process->cancel_deadline();
    auto notes = m.all(Tag::note);
    for (std::size_t i = 0; i < notes.size() && i < 20; ++i) {
      log::warn("hook zygote note", {{"commit", options.commit}, {"note", valid_utf8(notes[i])}});
    }
    log::info("hook zygote ready",
              {{"commit", options.commit},
               {"pid", zygote_pid},
               {"implementation", std::string(m.get(Tag::implementation).value_or(""))},
               {"version", std::string(m.get(Tag::version).value_or(""))},
               {"scripts", compiled.size()},
               {"of_scripts", options.scripts.size()},
               {"load_ms",
                std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_at)
                    .count()}});
    maybe_end_retired();
    return true;
  }

  bool on_started(const ZygoteMessage& m, std::vector<int>& fds) {
    auto id = m.get_u64(Tag::run_id);
    auto pid = m.get_u64(Tag::pid);
    // hookd will signal this process group: it must be the pidfd's process,
    // a child of this zygote, in a group of its own.
    if (!id || !pid || *pid == 0 || *pid > 0x7FFFFFFF || fds.size() != 1 ||
        !pidfd_is_child_leading_its_group(fds[0], static_cast<int>(*pid), zygote_pid)) {
      return refuse("a STARTED that is not for a child of its own in a group of its own");
    }
    AdoptedChild child;
    child.pid = static_cast<int>(*pid);
    child.pidfd = fds[0];
    std::weak_ptr<State> weak = shared_from_this();
    child.reap = [weak, id = *id](ZygoteRuns::Reaped reaped) {
      if (auto self = weak.lock()) return self->reap(id, std::move(reaped));
      reaped(std::nullopt);
    };
    if (!runs.answer_fork(*id, ZygoteFork{std::move(child), {}, true}, true)) {
      return refuse("STARTED for a run never asked for");
    }
    fds.clear();  // the pidfd went with the child
    return true;
  }

  // From the zygote (nothing forked) or from a child that failed before the
  // script (PID set): that one is reaped like any other.
  bool on_failed(const ZygoteMessage& m) {
    auto id = m.get_u64(Tag::run_id).value_or(0);
    bool forked = m.get(Tag::pid).has_value();
    ZygoteFork failed{std::nullopt, "zygote: " + std::string(m.get(Tag::error).value_or("")), true};
    if (!runs.answer_fork(id, std::move(failed), forked)) {
      return refuse("FAILED for a run never asked for");
    }
    if (forked) reap(id, [](std::optional<int>) {});
    maybe_end_retired();
    return true;
  }

  bool on_status(const ZygoteMessage& m) {
    auto reaped = runs.take_reap(m.get_u64(Tag::run_id).value_or(0));
    if (!reaped) return refuse("STATUS for a run not being reaped");
    auto status = wait_status(m);
    if (!status) {
      log::warn("hook zygote could not report an exit status",
                {{"commit", options.commit},
                 {"error", std::string(m.get(Tag::error).value_or("not a wait status"))}});
    }
    reaped(status);
    maybe_end_retired();
    return true;
  }

  // ------------------------------------------------------------ requests

  void reap(std::uint64_t id, ZygoteRuns::Reaped reaped) {
    if (!runs.expect_reap(id, reaped)) return reaped(std::nullopt);
    ZygoteMessage m{Type::reap, {}};
    m.add_u64(Tag::run_id, id);
    // REAPs are tiny and the zygote reads all the time: a full buffer means
    // it is stuck, which ends it (and the status comes back as unknown).
    if (!send_zygote_record(process->socket(), encode_zygote_message(m), {}, Clock::now())) {
      process->give_up("stopped reading REAPs");
    }
  }

  ZygoteFork fork_run(const HookRun& run) {
    if (run.process.argv.size() < 2) return {std::nullopt, "no script", true};
    ZygoteRunSetup setup;
    if (run.process.setup) {
      auto said = zygote_run_setup(*run.process.setup, options.setup.get());
      if (!said) return {std::nullopt, said.error().message, true};
      setup = std::move(said).value();
    }
    for (const auto& e : run.process.env) {
      if (e.size() >= kMaxExecString)
        return {std::nullopt, "an environment entry over 128 KiB", true};
    }
    if (!phase_is(Phase::ready)) return {std::nullopt, "not ready", true};
    auto expected = runs.expect_fork();
    if (!expected) return {std::nullopt, "not ready", true};
    auto& [id, answer] = *expected;
    auto record = encode_zygote_message(run_message(id, run, setup.params));
    auto forget = [&, id = id](std::string error) {
      runs.forget_fork(id);
      return ZygoteFork{std::nullopt, std::move(error), true};
    };
    if (record.size() > kZygoteMaxRecordBytes) return forget("a run over the record limit");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      return forget("pipe: " + std::error_code(errno, std::generic_category()).message());
    }
    auto deadline = Clock::now() + options.answer_timeout;
    std::vector<int> fds = {null_fd, out[1]};
    fds.insert(fds.end(), setup.fds.begin(), setup.fds.end());
    auto sent = send_zygote_record(process->socket(), record, fds, deadline);
    ::close(out[1]);
    if (!sent) {
      ::close(out[0]);
      return forget(sent.error().message);
    }
    if (answer.wait_until(deadline) != std::future_status::ready) {
      // Ending it settles the question: until its socket closes every
      // STARTED sent still arrives, and after that no child can run.
      process->give_up("did not answer a RUN");
      if (answer.wait_for(kEndingTimeout) != std::future_status::ready) {
        runs.forget_fork(id);
        ::close(out[0]);
        return {std::nullopt, "the zygote did not answer", false};
      }
    }
    auto fork = answer.get();
    if (fork.child) {
      fork.child->output_fd = out[0];
      fork.child->started = Clock::now();
    } else {
      ::close(out[0]);
    }
    return fork;
  }

  // ---------------------------------------------------------------- ending

  void retire() {
    {
      std::lock_guard lock(mutex);
      if (phase == Phase::gone || phase == Phase::retiring) return;
      phase = Phase::retiring;
      retired = true;
    }
    maybe_end_retired();
  }

  // A retired zygote with nothing in flight reads the end of its socket and exits.
  void maybe_end_retired() {
    if (!phase_is(Phase::retiring) || !runs.idle() || runs.closed()) return;
    runs.close("retired", true);
    process->end_writing();
  }

  void on_closed(bool drained, const std::string& why) {
    set_phase_retiring();
    // Drained: a run without STARTED never ran, so it may start elsewhere.
    runs.close("the zygote ended: " + why, drained);
  }

  void on_ended(bool forced, const std::string& why) {
    ZygoteEnd end;
    {
      std::lock_guard lock(mutex);
      phase = Phase::gone;
      end.was_ready = was_ready;
      end.retired = retired && !forced && unsupported.empty();
      end.unsupported = !unsupported.empty();
      if (!end.retired) end.reason = unsupported.empty() ? why : unsupported;
    }
    end.lived = Clock::now() - started_at;
    if (auto callback = std::exchange(ended, nullptr)) callback(end);
  }

  const ZygoteOptions options;
  std::function<void(const ZygoteEnd&)> ended;  // called on the process's strand
  std::shared_ptr<ZygoteProcess> process;       // set by start(), before any record
  ZygoteRuns runs;
  int null_fd = -1;
  Clock::time_point started_at;

  mutable std::mutex mutex;
  Phase phase = Phase::loading;
  bool was_ready = false, retired = false;
  std::string unsupported;  // READY's ERROR: this interpreter cannot be a zygote
  int zygote_pid = 0;
  std::set<std::string> compiled;
};

// ---------------------------------------------------------------------------

Zygote::Zygote(std::shared_ptr<State> state) : state_(std::move(state)) {}

Zygote::~Zygote() {
  kill();
}

std::shared_ptr<Zygote> Zygote::start(boost::asio::io_context& io, ZygoteOptions options,
                                      std::function<void(const ZygoteEnd&)> ended) {
  auto state = std::make_shared<State>(std::move(options), std::move(ended));
  state->start(io);
  return std::shared_ptr<Zygote>(new Zygote(state));
}

const std::string& Zygote::commit() const {
  return state_->options.commit;
}

int Zygote::pid() const {
  std::lock_guard lock(state_->mutex);
  return state_->zygote_pid;
}

bool Zygote::ready() const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == State::Phase::ready;
}

bool Zygote::can_run(const std::filesystem::path& script) const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == State::Phase::ready && state_->compiled.count(script.string()) == 1;
}

ZygoteFork Zygote::fork_run(const HookRun& run) {
  return state_->fork_run(run);
}

void Zygote::retire() {
  state_->retire();
}

void Zygote::kill() {
  state_->process->give_up("stopped by hookd");
}

}  // namespace hookd
