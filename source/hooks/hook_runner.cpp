#include "hookd/hooks/hook_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"
#include "hookd/runbooks/runbooks.h"

namespace hookd {
namespace {

namespace asio = boost::asio;
using Strand = asio::strand<asio::io_context::executor_type>;
using Clock = std::chrono::steady_clock;

constexpr const char* kConsumer = "hooks";
constexpr const char* kSafePath = "PATH=/usr/local/bin:/usr/bin:/bin";
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kJournalBatch = 512;

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
int pidfd_open_fd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Captured output is arbitrary bytes, possibly cut mid-character by the cap;
// logs and JSON need valid UTF-8, so invalid sequences become U+FFFD.
std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= in.size();
    std::uint32_t cp = ok ? (c & (0x7F >> len)) : 0;
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF)) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view env_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// Moves a new child to `cpu`, then gives it back every CPU it was allowed.
void start_on_cpu(pid_t pid, int cpu) {
  cpu_set_t allowed, one;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  if (::sched_getaffinity(pid, sizeof allowed, &allowed) != 0 || !CPU_ISSET(cpu, &allowed)) return;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (::sched_setaffinity(pid, sizeof one, &one) == 0) {
    ::sched_setaffinity(pid, sizeof allowed, &allowed);
  }
}

// The CPUs this process may run on, in order.
std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace

// ---------------------------------------------------------------------------
// One child process.
//
// Lifecycle: spawn -> (output read concurrently) -> the child exits (pidfd
// readable; it stays a zombie so its pid, which is the process group id,
// cannot be reused) -> the pipe closes or `linger` passes -> SIGKILL to the
// group (grandchildren must not outlive the run: no orphans) -> reap -> the
// pipe drains for at most another `linger` -> done. Signals are only ever
// sent before the reap, so they never reach a recycled pid.

struct ChildProcess::Impl : std::enable_shared_from_this<ChildProcess::Impl> {
  Impl(asio::io_context& io, ProcessOptions o, std::function<void(ProcessResult)> d)
      : strand(asio::make_strand(io)),
        pidfd(strand),
        pipe(strand),
        timeout_timer(strand),
        grace_timer(strand),
        linger_timer(strand),
        options(std::move(o)),
        done(std::move(d)) {}

  ~Impl() {
    // Only reached unreaped when the io_context was torn down mid-run.
    if (pid > 0 && !reaped) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }

  // Runs on the caller's thread before any handler exists; everything after
  // it happens on the strand.
  void spawn() {
    started = Clock::now();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail_spawn("pipe: " + errno_text(errno));

    std::vector<char*> argv;
    for (auto& a : options.argv)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : options.env)
      envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    // A new process group led by the child, so a timeout reaches everything
    // it started; signal dispositions and mask reset, since the daemon
    // ignores SIGPIPE and its threads may block signals.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    // Every descriptor is meant to be O_CLOEXEC already; this also covers
    // one opened by a library that forgot.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

    pid_t child = 0;
    int rc = argv.size() < 2
                 ? EINVAL
                 : ::posix_spawn(&child, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      std::string what = options.argv.empty() ? std::string("(no argv)") : options.argv[0];
      return fail_spawn(what + ": " + errno_text(rc));
    }
    pid = child;
    result.pid = child;
    // Not yet reaped, so the pid cannot have been reused.
    if (options.cpu >= 0) start_on_cpu(child, options.cpu);

    int fd = pidfd_open_fd(child);
    if (fd < 0) {
      // Cannot watch it without blocking: end it now rather than leak it.
      int err = errno;
      ::kill(-child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      reaped = true;
      ::close(fds[0]);
      return fail_spawn("pidfd_open: " + errno_text(err));
    }
    pidfd.assign(fd);
    pipe.assign(fds[0]);
    asio::post(strand, [self = shared_from_this()] { self->arm(); });
  }

  void arm() {
    auto self = shared_from_this();
    timeout_timer.expires_after(options.timeout);
    timeout_timer.async_wait([self](boost::system::error_code ec) {
      if (ec || self->leader_exited) return;
      self->result.timed_out = true;
      self->terminate();
    });
    wait_exit();
    read();
  }

  void wait_exit() {
    pidfd.async_wait(asio::posix::descriptor_base::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       if (!ec && !self->exited()) return self->wait_exit();
                       self->on_leader_exit();
                     });
  }

  // Whether the child has exited, without reaping it.
  bool exited() {
    siginfo_t info{};
    int rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.native_handle()),
                      &info, WEXITED | WNOHANG | WNOWAIT);
    return rc != 0 || info.si_pid != 0;
  }

  void fail_spawn(std::string message) {
    result.spawn_error = std::move(message);
    group_done = true;
    pipe_closed = true;
    asio::post(strand, [self = shared_from_this()] { self->complete(); });
  }

  void send(int sig) {
    if (group_done || pid <= 0) return;
    pidfd_signal(pidfd.native_handle(), sig);
    ::kill(-pid, sig);
  }

  // Timeout or cancel: SIGTERM now, SIGKILL after the grace period.
  void terminate() {
    if (terminating || group_done) return;
    terminating = true;
    send(SIGTERM);
    grace_timer.expires_after(options.kill_grace);
    grace_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->send(SIGKILL);
    });
  }

  void read() {
    pipe.async_read_some(asio::buffer(buffer),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           self->on_read(ec, n);
                         });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (n > 0) {
      std::size_t room =
          options.output_max_bytes - std::min(options.output_max_bytes, result.output.size());
      std::size_t keep = std::min(room, n);
      result.output.append(buffer.data(), keep);
      result.output_dropped_bytes += n - keep;
    }
    if (!ec && !stop_reading) return read();
    pipe_closed = true;
    boost::system::error_code ignored;
    pipe.close(ignored);
    if (leader_exited && !group_done) finish_group();
    maybe_complete();
  }

  void on_leader_exit() {
    if (leader_exited) return;
    leader_exited = true;
    result.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    timeout_timer.cancel();
    grace_timer.cancel();
    if (pipe_closed) return finish_group();
    // Descendants still hold the pipe: give them a moment to finish writing.
    arm_linger();
  }

  void arm_linger() {
    linger_timer.expires_after(options.linger);
    linger_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (!self->group_done) return self->finish_group();
      // A descendant that left the process group still holds the pipe.
      if (!self->pipe_closed) {
        self->stop_reading = true;
        boost::system::error_code ignored;
        self->pipe.cancel(ignored);
      }
    });
  }

  // The leader has exited (a zombie holding the pgid): kill what remains of
  // its group, then reap it.
  void finish_group() {
    send(SIGKILL);
    group_done = true;
    linger_timer.cancel();
    siginfo_t info{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.native_handle()), &info,
                 WEXITED | WNOHANG) == 0 &&
        info.si_pid != 0) {
      if (info.si_code == CLD_EXITED) {
        result.exit_code = info.si_status;
      } else {
        result.signal = info.si_status;
      }
    } else {
      // Cannot happen for a readable pidfd of our own child; reap anyway.
      int status = 0;
      if (::waitpid(pid, &status, 0) == pid) {
        if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
      }
    }
    reaped = true;
    boost::system::error_code ignored;
    pidfd.close(ignored);
    if (!pipe_closed) arm_linger();
    maybe_complete();
  }

  void maybe_complete() {
    if (group_done && pipe_closed) complete();
  }

  void complete() {
    if (finished) return;
    finished = true;
    timeout_timer.cancel();
    grace_timer.cancel();
    linger_timer.cancel();
    auto callback = std::move(done);
    done = nullptr;
    if (callback) callback(std::move(result));
  }

  Strand strand;
  asio::posix::stream_descriptor pidfd;
  asio::posix::stream_descriptor pipe;
  asio::steady_timer timeout_timer, grace_timer, linger_timer;
  ProcessOptions options;
  std::function<void(ProcessResult)> done;
  ProcessResult result;
  std::array<char, kReadChunk> buffer;
  Clock::time_point started;
  int pid = 0;
  bool reaped = false;
  bool leader_exited = false;
  bool pipe_closed = false;
  bool group_done = false;
  bool terminating = false;
  bool stop_reading = false;
  bool finished = false;
};

int ChildProcess::pid() const {
  return impl_ ? impl_->pid : 0;
}

void ChildProcess::cancel() const {
  if (!impl_) return;
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->finished || impl->leader_exited) return;
    impl->result.cancelled = true;
    impl->terminate();
  });
}

ChildProcess run_process(asio::io_context& io, ProcessOptions options,
                         std::function<void(ProcessResult)> done) {
  auto impl = std::make_shared<ChildProcess::Impl>(io, std::move(options), std::move(done));
  impl->spawn();
  return ChildProcess(impl);
}

// ---------------------------------------------------------------------------
// The journal consumer.

namespace {

struct Metrics {
  Counter& ok =
      metrics().counter("hookd_hook_runs_total", "Hook runs by outcome", {{"outcome", "ok"}});
  Counter& failed =
      metrics().counter("hookd_hook_runs_total", "Hook runs by outcome", {{"outcome", "failed"}});
  Counter& timeout =
      metrics().counter("hookd_hook_runs_total", "Hook runs by outcome", {{"outcome", "timeout"}});
  Counter& spawn_error = metrics().counter("hookd_hook_runs_total", "Hook runs by outcome",
                                           {{"outcome", "spawn_error"}});
  Counter& interrupted = metrics().counter("hookd_hook_runs_total", "Hook runs by outcome",
                                           {{"outcome", "interrupted"}});
  Histogram& duration =
      metrics().histogram("hookd_hook_duration_seconds", "Hook run duration, spawn to exit",
                          duration_buckets_seconds());
  Gauge& running = metrics().gauge("hookd_hook_running", "Hook scripts running now");
  Gauge& waiting =
      metrics().gauge("hookd_hook_waiting", "Events read from the journal, hook not started yet");
  Counter& dropped = metrics().counter("hookd_hook_output_dropped_bytes_total",
                                       "Hook output bytes beyond --hook-output-max-bytes");
  Counter& skipped =
      metrics().counter("hookd_hook_events_skipped_total", "Events whose type has no hook script");
  Counter& snapshot_waits = metrics().counter(
      "hookd_hook_snapshot_waits_total", "Dispatch attempts delayed: no runbooks snapshot yet");
  Gauge& cursor = metrics().gauge("hookd_hook_cursor", "Journal seq the hooks consumer finished");

  Counter& exit_code(int code) {
    return metrics().counter("hookd_hook_exit_codes_total", "Hook exit codes",
                             {{"code", std::to_string(code & 0xFF)}});
  }
};

Metrics& hook_metrics() {
  static Metrics m;
  return m;
}

}  // namespace

// Starting a hook and removing its run directory block: posix_spawn waits
// (vfork) until the child has exec'd, which on a busy machine means until the
// scheduler gets round to the child, and mkdir/rmdir wait on the filesystem's
// journal. On the runner's reactor thread those waits held up every other
// hook's exit handling (and HTTP on that reactor), so slots sat idle while
// work was queued. They run on a few worker threads instead; only the
// bookkeeping stays on the strand.
struct HookRunner::Impl : std::enable_shared_from_this<HookRunner::Impl> {
  // cleaning: finished and recorded, the run directory is being removed; the
  // cursor passes it once that is done.
  enum class State { waiting, running, cleaning, done, interrupted };
  struct Entry {
    std::uint64_t seq = 0;
    Event event;
    State state = State::waiting;
    ChildProcess child;
  };

  Impl(asio::io_context& io, Journal& journal,
       std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot, HookRunnerOptions o)
      : io(io),
        strand(asio::make_strand(io)),
        journal(journal),
        snapshot_fn(std::move(snapshot)),
        options(std::move(o)),
        snapshot_timer(strand),
        drain_timer(strand) {
    if (options.concurrency == 0) {
      options.concurrency = 2 * std::max(1u, std::thread::hardware_concurrency());
    }
    if (options.work_dir.empty()) {
      throw std::invalid_argument("hook runner: work_dir is required");
    }
    if (options.spawn_threads == 0) {
      options.spawn_threads = std::min<std::size_t>(options.concurrency, 4);
    }
    options.max_waiting = std::max<std::size_t>(1, options.max_waiting);
    options.max_results = std::max<std::size_t>(1, options.max_results);
    base_env = {kSafePath, "LANG=C.UTF-8"};
    for (const auto& entry : options.extra_env) {
      auto name = env_name(entry);
      if (entry.find('=') == std::string::npos || !valid_env_name(name)) {
        throw std::invalid_argument("--hook-env: expected NAME=VALUE, got \"" + entry + "\"");
      }
      if (name == "HOOP_RUNBOOK_HOOK_PAYLOAD") {
        throw std::invalid_argument("--hook-env: HOOP_RUNBOOK_HOOK_PAYLOAD is set by hookd");
      }
      // A later entry for the same name wins, including over PATH and LANG.
      std::erase_if(base_env, [&](const std::string& e) { return env_name(e) == name; });
      base_env.push_back(entry);
      if (name == "HOME") home_overridden = true;
    }
    cpus = allowed_cpus();
    runs_on_cpu.assign(cpus.size(), 0);
    workers = std::make_shared<asio::thread_pool>(options.spawn_threads);
  }

  bool is_alive() const {
    std::lock_guard lock(guard);
    return alive;
  }

  // Queues blocking work on the worker threads; false once ~HookRunner has
  // taken them away.
  bool submit(std::function<void()> job) {
    std::lock_guard lock(guard);
    if (!alive || !workers) return false;
    asio::post(*workers, std::move(job));
    return true;
  }

  Entry* find(std::uint64_t seq) {
    auto it = std::lower_bound(window.begin(), window.end(), seq,
                               [](const Entry& e, std::uint64_t s) { return e.seq < s; });
    return it != window.end() && it->seq == seq ? &*it : nullptr;
  }

  // -- dispatch (on the strand) ---------------------------------------------

  void start(std::uint64_t registered_cursor) {
    std::error_code ec;
    std::filesystem::create_directories(options.work_dir, ec);
    // Leftovers of runs a crash interrupted.
    std::vector<std::filesystem::path> stale;
    for (std::filesystem::directory_iterator it(options.work_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().filename().string().starts_with("run-")) stale.push_back(it->path());
    }
    for (const auto& path : stale) {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
    if (ec) {
      log::error("hook work dir unusable",
                 {{"dir", options.work_dir.string()}, {"error", ec.message()}});
    }
    cursor = registered_cursor;
    read_seq = cursor;
    hook_metrics().cursor.set(static_cast<double>(cursor));
    std::weak_ptr<Impl> weak = shared_from_this();
    journal.on_durable([weak](std::uint64_t) {
      if (auto self = weak.lock()) self->schedule_pump();
    });
    log::info("hook runner started", {{"cursor", cursor},
                                      {"concurrency", options.concurrency},
                                      {"interpreter", options.interpreter}});
    pump();
  }

  // Many durable notifications collapse into one pump.
  void schedule_pump() {
    std::lock_guard lock(guard);
    if (!alive || pump_pending.exchange(true)) return;
    asio::post(strand, [self = shared_from_this()] {
      self->pump_pending = false;
      self->pump();
    });
  }

  void pump() {
    if (stopping || !is_alive()) return;
    read_more();
    dispatch();
    commit();
    publish();
  }

  void read_more() {
    while (window.size() < options.max_waiting) {
      std::size_t room = std::min(kJournalBatch, options.max_waiting - window.size());
      auto events = journal.read(read_seq, room);
      if (!events) {
        log::error("hook runner cannot read the journal",
                   {{"after_seq", read_seq}, {"error", events.error().message}});
        retry_later();
        return;
      }
      for (auto& stored : *events) {
        read_seq = stored.seq;
        window.push_back(Entry{stored.seq, std::move(stored.event), State::waiting, {}});
      }
      if (events->size() < room) return;
    }
  }

  void dispatch() {
    std::shared_ptr<const RunbooksSnapshot> snapshot;
    while (running < options.concurrency && dispatched < window.size()) {
      if (!snapshot) snapshot = snapshot_fn ? snapshot_fn() : nullptr;
      if (!snapshot) {
        // Hooks are on but the runbooks are not loaded yet: skipping would
        // lose these runs, so wait for the first snapshot.
        hook_metrics().snapshot_waits.inc();
        retry_later();
        return;
      }
      Entry& entry = window[dispatched++];
      auto script = snapshot->script_for(entry.event.type);
      if (!script) {
        entry.state = State::done;
        hook_metrics().skipped.inc();
        std::lock_guard lock(guard);
        ++stats.skipped;
        continue;
      }
      launch(entry, *snapshot, *script);
    }
  }

  void retry_later() {
    if (retry_armed) return;
    retry_armed = true;
    snapshot_timer.expires_after(options.snapshot_poll);
    snapshot_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->retry_armed = false;
      if (!ec) self->pump();
    });
  }

  struct Run {
    std::uint64_t seq;
    std::string event_id, type, script_name, commit;
    std::filesystem::path run_dir;
    std::int64_t started_unix_ms;
    int cpu_slot = -1;  // index into `cpus`
  };

  // Spreads runs over the CPUs by how many of ours each was given. Left to
  // the kernel, children mostly start near the thread that spawned them (ours
  // all follow one reactor thread), and with group scheduling (autogroup,
  // cgroups) the balancer sees little reason to move them: on a busy 2-core
  // machine the hooks had runnable work on one CPU only, 35-45% of the time,
  // while other work had the rest. Ties rotate, so one run at a time does
  // not always go to the same CPU.
  int pick_cpu_slot() {
    if (cpus.size() < 2) return -1;
    std::size_t best = next_cpu_slot % cpus.size();
    for (std::size_t k = 1; k < cpus.size(); ++k) {
      std::size_t i = (next_cpu_slot + k) % cpus.size();
      if (runs_on_cpu[i] < runs_on_cpu[best]) best = i;
    }
    next_cpu_slot = best + 1;
    ++runs_on_cpu[best];
    return static_cast<int>(best);
  }

  void launch(Entry& entry, const RunbooksSnapshot& snapshot, const std::filesystem::path& script) {
    entry.state = State::running;
    ++running;
    auto run = std::make_shared<Run>(Run{entry.seq,
                                         entry.event.id,
                                         entry.event.type,
                                         hook_script_name(entry.event.type),
                                         snapshot.commit_id,
                                         {},
                                         now_unix_ms()});
    remember_running(*run);
    run->cpu_slot = pick_cpu_slot();

    ProcessOptions process;
    process.argv = {options.interpreter, script.string()};
    process.env.reserve(base_env.size() + 2);
    process.env.push_back("HOOP_RUNBOOK_HOOK_PAYLOAD=" + entry.event.payload_json);
    process.env.insert(process.env.end(), base_env.begin(), base_env.end());
    process.timeout = options.timeout;
    process.kill_grace = options.kill_grace;
    process.output_max_bytes = options.output_max_bytes;
    process.linger = options.linger;
    if (run->cpu_slot >= 0) process.cpu = cpus[static_cast<std::size_t>(run->cpu_slot)];
    auto self = shared_from_this();
    submit([self, run, process = std::move(process)]() mutable {
      self->spawn(run, std::move(process));
    });
  }

  // On a worker thread: the run directory, then the child.
  void spawn(const std::shared_ptr<Run>& run, ProcessOptions process) {
    if (!is_alive()) return;
    auto self = shared_from_this();
    auto done = [self, run](ProcessResult result) {
      asio::post(self->strand, [self, run, r = std::move(result)]() mutable {
        self->finished(run, std::move(r));
      });
    };
    if (abandon) {
      // stop() gave up waiting before this run started: it runs after a restart.
      ProcessResult result;
      result.cancelled = true;
      return done(std::move(result));
    }
    std::string dir = (options.work_dir / "run-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      ProcessResult failed;
      failed.spawn_error = "run dir " + dir + ": " + errno_text(errno);
      return done(std::move(failed));
    }
    run->run_dir = dir;
    if (!home_overridden) process.env.push_back("HOME=" + dir);
    process.cwd = dir;
    auto child = run_process(io, std::move(process), done);
    asio::post(strand, [self, seq = run->seq, child] { self->spawned(seq, child); });
  }

  // The handle, for stop() to cancel the run; the run may have finished already.
  void spawned(std::uint64_t seq, ChildProcess child) {
    Entry* entry = find(seq);
    if (entry == nullptr || entry->state != State::running) return;
    entry->child = child;
    if (abandon) child.cancel();
  }

  // Frees the slot at once; the cursor waits until the run directory is gone.
  void finished(const std::shared_ptr<Run>& run, ProcessResult result) {
    --running;
    if (run->cpu_slot >= 0) --runs_on_cpu[static_cast<std::size_t>(run->cpu_slot)];
    if (!is_alive()) {  // the runner was destroyed without stop()
      remove_run_dir(*run);
      return;
    }
    bool interrupted = result.cancelled && stopping;
    State outcome = interrupted ? State::interrupted : State::done;
    record(*run, result, interrupted);
    Entry* entry = find(run->seq);
    if (entry != nullptr) {
      entry->child = ChildProcess();
      entry->state = run->run_dir.empty() ? outcome : State::cleaning;
    }
    if (!run->run_dir.empty()) {
      ++cleaning;
      auto self = shared_from_this();
      bool queued = submit([self, run, outcome] {
        remove_run_dir(*run);
        asio::post(self->strand, [self, seq = run->seq, outcome] { self->cleaned(seq, outcome); });
      });
      if (!queued) {
        remove_run_dir(*run);
        --cleaning;
        if (entry != nullptr) entry->state = outcome;
      }
    }
    advance();
  }

  void cleaned(std::uint64_t seq, State outcome) {
    --cleaning;
    if (!is_alive()) return;
    Entry* entry = find(seq);
    if (entry != nullptr && entry->state == State::cleaning) entry->state = outcome;
    advance();
  }

  static void remove_run_dir(const Run& run) {
    if (run.run_dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(run.run_dir, ec);
  }

  // After a run finished or its directory went: start what waits, move the
  // cursor, or complete a stop.
  void advance() {
    if (stopping) {
      commit();
      publish();
      if (running == 0 && cleaning == 0) finish_stop();
      return;
    }
    pump();
  }

  // Moves the cursor to the highest seq below which every event is done.
  void commit() {
    std::uint64_t last = cursor;
    while (!window.empty() && window.front().state == State::done) {
      last = window.front().seq;
      window.pop_front();
      --dispatched;
    }
    if (last != cursor) {
      cursor = last;
      journal.commit(kConsumer, cursor);
      hook_metrics().cursor.set(static_cast<double>(cursor));
    }
  }

  void publish() {
    std::size_t waiting = window.size() - dispatched;
    hook_metrics().running.set(static_cast<double>(running));
    hook_metrics().waiting.set(static_cast<double>(waiting));
    std::lock_guard lock(guard);
    stats.running = running;
    stats.waiting = waiting;
    stats.cursor = cursor;
    stats.read_seq = read_seq;
  }

  void stop(std::function<void()> done) {
    stopping = true;
    stop_done = std::move(done);
    snapshot_timer.cancel();
    publish();
    if (running == 0 && cleaning == 0) return finish_stop();
    log::info("hook runner draining", {{"running", running}});
    drain_timer.expires_after(options.drain_timeout);
    drain_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      // Runs still queued for a worker thread are not started at all.
      self->abandon = true;
      for (auto& entry : self->window) {
        if (entry.state == State::running) entry.child.cancel();
      }
    });
  }

  void finish_stop() {
    drain_timer.cancel();
    if (!stop_done) return;
    auto done = std::move(stop_done);
    stop_done = nullptr;
    log::info("hook runner stopped", {{"cursor", cursor}});
    done();
  }

  // -- results (any thread, under `guard`) ------------------------------------

  struct Stats {
    std::uint64_t ok = 0, failed = 0, timeout = 0, spawn_error = 0, interrupted = 0, skipped = 0;
    std::uint64_t output_dropped_bytes = 0;
    std::size_t running = 0, waiting = 0;
    std::uint64_t cursor = 0, read_seq = 0;
  };

  void remember(const std::string& event_id, std::string json) {
    std::lock_guard lock(guard);
    if (auto it = results_index.find(event_id); it != results_index.end()) {
      results.erase(it->second);
      results_index.erase(it);
    }
    results.emplace_front(event_id, std::move(json));
    results_index[event_id] = results.begin();
    while (results.size() > options.max_results) {
      results_index.erase(results.back().first);
      results.pop_back();
    }
  }

  void remember_running(const Run& run) {
    boost::json::object o;
    o["script"] = run.script_name;
    o["commit"] = run.commit;
    o["outcome"] = "running";
    o["started_at"] = format_rfc3339(run.started_unix_ms);
    remember(run.event_id, boost::json::serialize(o));
  }

  void record(const Run& run, const ProcessResult& result, bool interrupted) {
    auto& m = hook_metrics();
    const char* outcome = "ok";
    if (!result.spawn_error.empty()) {
      outcome = "spawn_error";
      m.spawn_error.inc();
    } else if (interrupted) {
      outcome = "interrupted";
      m.interrupted.inc();
    } else if (result.timed_out) {
      outcome = "timeout";
      m.timeout.inc();
    } else if (result.exit_code && *result.exit_code == 0) {
      m.ok.inc();
    } else {
      outcome = "failed";
      m.failed.inc();
    }
    if (result.spawn_error.empty() && result.pid != 0) {
      m.duration.observe(std::chrono::duration<double>(result.duration).count());
    }
    if (result.exit_code) m.exit_code(*result.exit_code).inc();
    if (result.output_dropped_bytes > 0) {
      m.dropped.inc(static_cast<double>(result.output_dropped_bytes));
    }

    std::string output = valid_utf8(result.output);
    auto duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(result.duration).count();
    std::int64_t finished_ms = now_unix_ms();

    boost::json::object o;
    o["script"] = run.script_name;
    o["commit"] = run.commit;
    o["outcome"] = outcome;
    if (result.exit_code) {
      o["exit_code"] = *result.exit_code;
    } else {
      o["exit_code"] = nullptr;
    }
    if (result.signal) {
      o["signal"] = *result.signal;
    } else {
      o["signal"] = nullptr;
    }
    o["duration_ms"] = duration_ms;
    o["output"] = output;
    o["output_truncated"] = result.output_dropped_bytes > 0;
    o["output_dropped_bytes"] = result.output_dropped_bytes;
    if (!result.spawn_error.empty()) o["error"] = result.spawn_error;
    o["started_at"] = format_rfc3339(run.started_unix_ms);
    o["finished_at"] = format_rfc3339(finished_ms);
    remember(run.event_id, boost::json::serialize(o));

    {
      std::lock_guard lock(guard);
      if (outcome == std::string_view("ok")) ++stats.ok;
      if (outcome == std::string_view("failed")) ++stats.failed;
      if (outcome == std::string_view("timeout")) ++stats.timeout;
      if (outcome == std::string_view("spawn_error")) ++stats.spawn_error;
      if (outcome == std::string_view("interrupted")) ++stats.interrupted;
      stats.output_dropped_bytes += result.output_dropped_bytes;
    }

    const char* message = interrupted ? "hook interrupted" : "hook finished";
    if (!result.spawn_error.empty()) {
      log::warn(message, {{"event_id", run.event_id},
                          {"type", run.type},
                          {"script", run.script_name},
                          {"commit", run.commit},
                          {"outcome", outcome},
                          {"error", result.spawn_error}});
    } else if (result.signal) {
      log::info(message, {{"event_id", run.event_id},
                          {"type", run.type},
                          {"script", run.script_name},
                          {"commit", run.commit},
                          {"outcome", outcome},
                          {"signal", *result.signal},
                          {"duration_ms", duration_ms},
                          {"output", output},
                          {"output_dropped_bytes", result.output_dropped_bytes},
                          {"pid", result.pid}});
    } else {
      log::info(message, {{"event_id", run.event_id},
                          {"type", run.type},
                          {"script", run.script_name},
                          {"commit", run.commit},
                          {"outcome", outcome},
                          {"exit_code", result.exit_code.value_or(-1)},
                          {"duration_ms", duration_ms},
                          {"output", output},
                          {"output_dropped_bytes", result.output_dropped_bytes},
                          {"pid", result.pid}});
    }
  }

  std::optional<std::string> status_json(std::string_view event_id) const {
    std::lock_guard lock(guard);
    auto it = results_index.find(std::string(event_id));
    if (it == results_index.end()) return std::nullopt;
    return it->second->second;
  }

  std::string stats_json() const {
    Stats s;
    {
      std::lock_guard lock(guard);
      s = stats;
    }
    boost::json::object runs;
    runs["ok"] = s.ok;
    runs["failed"] = s.failed;
    runs["timeout"] = s.timeout;
    runs["spawn_error"] = s.spawn_error;
    runs["interrupted"] = s.interrupted;
    boost::json::object o;
    o["runs"] = std::move(runs);
    o["skipped"] = s.skipped;
    o["running"] = s.running;
    o["waiting"] = s.waiting;
    o["cursor"] = s.cursor;
    o["read_seq"] = s.read_seq;
    o["concurrency"] = options.concurrency;
    o["output_dropped_bytes"] = s.output_dropped_bytes;
    return boost::json::serialize(o);
  }

  asio::io_context& io;
  Strand strand;
  Journal& journal;
  std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot_fn;
  HookRunnerOptions options;
  std::vector<std::string> base_env;  // PATH, LANG and --hook-env
  bool home_overridden = false;
  asio::steady_timer snapshot_timer;
  asio::steady_timer drain_timer;

  // Strand-only state. `window` holds every event read past the cursor, in
  // seq order; the first `dispatched` of them have been started or skipped.
  std::deque<Entry> window;
  std::size_t dispatched = 0;
  std::size_t running = 0;               // slots taken: queued for a worker, or a child alive
  std::size_t cleaning = 0;              // run directories being removed
  std::vector<int> cpus;                 // allowed at start-up
  std::vector<std::size_t> runs_on_cpu;  // runs started on cpus[i] and not finished
  std::size_t next_cpu_slot = 0;
  std::uint64_t cursor = 0;
  std::uint64_t read_seq = 0;
  bool stopping = false;
  bool retry_armed = false;
  std::function<void()> stop_done;

  // Shared with other threads.
  std::atomic<bool> abandon{false};  // drain timed out: queued runs are not started
  mutable std::mutex guard;
  bool alive = true;  // cleared by ~HookRunner: the journal must not post to a dead runner
  std::shared_ptr<asio::thread_pool> workers;  // spawns and run-dir removal; under `guard`
  std::atomic<bool> pump_pending{false};
  Stats stats;
  std::list<std::pair<std::string, std::string>> results;  // most recent first
  std::unordered_map<std::string, std::list<std::pair<std::string, std::string>>::iterator>
      results_index;
};

HookRunner::HookRunner(asio::io_context& io, Journal& journal,
                       std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot,
                       HookRunnerOptions options)
    : impl_(std::make_shared<Impl>(io, journal, std::move(snapshot), std::move(options))) {}

HookRunner::~HookRunner() {
  std::shared_ptr<asio::thread_pool> workers;
  {
    std::lock_guard lock(impl_->guard);
    impl_->alive = false;
    workers = std::move(impl_->workers);
  }
  // Queued spawns see the runner gone and start nothing; queued directory
  // removals still happen. Joined here, never on a worker thread.
  if (workers) workers->join();
}

void HookRunner::start() {
  // Registered before returning: a new consumer starts at the journal's end,
  // so every event appended after start() is seen.
  auto cursor = impl_->journal.register_consumer(kConsumer);
  asio::post(impl_->strand, [impl = impl_, cursor] { impl->start(cursor); });
}

void HookRunner::stop(std::function<void()> done) {
  asio::post(impl_->strand,
             [impl = impl_, done = std::move(done)]() mutable { impl->stop(std::move(done)); });
}

std::optional<std::string> HookRunner::status_json(std::string_view event_id) const {
  return impl_->status_json(event_id);
}

std::string HookRunner::stats_json() const {
  return impl_->stats_json();
}

}  // namespace hookd
