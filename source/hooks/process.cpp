#include "hookd/hooks/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <system_error>

#include "hookd/core/result.h"
#include "hookd/core/text.h"
#include "hookd/hooks/child_setup.h"
#include "hookd/hooks/kill_sequence.h"
#include "hookd/hooks/orphan_reaper.h"
#include "hookd/hooks/output_capture.h"

namespace hookd {
namespace {

namespace asio = boost::asio;
using Clock = KillSequence::Clock;

constexpr std::size_t kReadChunk = 64 * 1024;

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
int pidfd_open_fd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
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

// A child that runs in its own process group, not watched yet.
struct SpawnedChild {
  pid_t pid = 0;
  int pidfd = -1;
  int output_fd = -1;  // the read end of its stdout+stderr
};

// A contained child: its own session, set up by ChildSetup before exec.
Result<SpawnedChild> spawn_contained(ProcessOptions& options, int output_fd) {
  std::string cwd = options.cwd.string();
  auto spawned = spawn_with_setup(
      {options.argv, options.env, cwd, output_fd, *options.setup, options.stdin_fd});
  if (!spawned) return spawned.error();
  OwnedChildren::add(spawned->pid);
  return SpawnedChild{spawned->pid, spawned->pidfd, -1};
}

Result<SpawnedChild> spawn_plain(ProcessOptions& options, int output_fd) {
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
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  if (options.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, options.stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
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
  if (rc != 0) {
    std::string what = options.argv.empty() ? std::string("(no argv)") : options.argv[0];
    return make_error(what + ": " + errno_text(rc));
  }
  int pidfd = pidfd_open_fd(child);
  if (pidfd < 0) {
    // Cannot watch it without blocking: end it now rather than leak it.
    int err = errno;
    ::kill(-child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    return make_error("pidfd_open: " + errno_text(err));
  }
  OwnedChildren::add(child);
  return SpawnedChild{child, pidfd, -1};
}

Result<SpawnedChild> spawn_in_own_group(ProcessOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return make_error("pipe: " + errno_text(errno));
  // The child puts the write end on 1 and 2: it must not be one of them.
  if (fds[1] <= 2) {
    int moved = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
    ::close(fds[1]);
    if (moved < 0) {
      ::close(fds[0]);
      return make_error("pipe: " + errno_text(errno));
    }
    fds[1] = moved;
  }
  auto child = [&] {
    // Until the pid is recorded the orphan reaper must not look.
    OwnedChildren::SpawnGuard guard;
    return options.setup ? spawn_contained(options, fds[1]) : spawn_plain(options, fds[1]);
  }();
  ::close(fds[1]);
  if (!child) {
    ::close(fds[0]);
    return child;
  }
  // Not yet reaped, so the pid cannot have been reused.
  if (options.cpu >= 0) start_on_cpu(child->pid, options.cpu);
  child->output_fd = fds[0];
  return child;
}

}  // namespace

// ---------------------------------------------------------------------------
// One child process, watched on a strand: the pidfd says when the child has
// exited (it stays a zombie so its pid, the process group id, cannot be
// reused), the pipe is read into an OutputCapture, and KillSequence decides
// when the group is signalled, the child reaped and the run complete.

struct ChildProcess::Impl : std::enable_shared_from_this<ChildProcess::Impl> {
  using Event = KillSequence::Event;

  Impl(asio::io_context& io, ProcessOptions o, std::function<void(ProcessResult)> d)
      : strand(asio::make_strand(io)),
        pidfd(strand),
        pipe(strand),
        timer(strand),
        options(std::move(o)),
        done(std::move(d)),
        sequence({options.timeout, options.kill_grace, options.linger}),
        capture(options.output_max_bytes) {}

  ~Impl() {
    // Only reached unreaped when the io_context was torn down mid-run.
    if (pid > 0 && !reaped) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      if (external_reap) {
        external_reap([](std::optional<int>) {});
      } else {
        ::waitpid(pid, nullptr, 0);
        OwnedChildren::remove(pid);
      }
    }
  }

  // Runs on the caller's thread before any handler exists; everything after
  // it happens on the strand.
  void spawn() {
    started = Clock::now();
    auto child = spawn_in_own_group(options);
    if (!child) return fail_spawn(child.error().message);
    pid = child->pid;
    result.pid = child->pid;
    pidfd.assign(child->pidfd);
    pipe.assign(child->output_fd);
    asio::post(strand, [self = shared_from_this()] { self->watch(); });
  }

  // Runs on the caller's thread, like spawn().
  void adopt(AdoptedChild child) {
    started = child.started;
    pid = child.pid;
    result.pid = child.pid;
    external_reap = std::move(child.reap);
    pidfd.assign(child.pidfd);
    pipe.assign(child.output_fd);
    // Not moved to options.cpu: an adopted child is already running its
    // script (it said STARTED), so a move would only migrate it mid-run.
    asio::post(strand, [self = shared_from_this()] { self->watch(); });
  }

  void fail_spawn(std::string message) {
    result.spawn_error = std::move(message);
    asio::post(strand, [self = shared_from_this()] { self->complete(); });
  }

  void watch() {
    handle(Event::started);
    wait_exit();
    read();
  }

  void wait_exit() {
    pidfd.async_wait(asio::posix::descriptor_base::wait_read, [self = shared_from_this()](
                                                                  boost::system::error_code ec) {
      if (!ec && !self->exited()) return self->wait_exit();
      if (self->reaped) return;
      self->result.duration =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - self->started);
      self->handle(Event::leader_exited);
    });
  }

  // Whether the child has exited, without reaping it.
  bool exited() {
    if (external_reap) {  // not ours to waitid(); its pidfd is readable once it has exited
      pollfd ready{pidfd.native_handle(), POLLIN, 0};
      return ::poll(&ready, 1, 0) != 0;
    }
    siginfo_t info{};
    int rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd.native_handle()),
                      &info, WEXITED | WNOHANG | WNOWAIT);
    return rc != 0 || info.si_pid != 0;
  }

  void read() {
    pipe.async_read_some(asio::buffer(buffer),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           self->on_read(ec, n);
                         });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    if (n > 0) capture.append(std::string_view(buffer.data(), n));
    if (!ec && !stop_reading) return read();
    boost::system::error_code ignored;
    pipe.close(ignored);
    handle(Event::output_closed);
  }

  // Does what the kill sequence decided, then waits for its next deadline.
  void handle(Event event) {
    auto step = sequence.on(event, Clock::now());
    if (step.signal != 0) send(step.signal);
    if (step.reap) reap();
    if (step.stop_reading) {
      stop_reading = true;
      boost::system::error_code ignored;
      pipe.cancel(ignored);
    }
    if (step.complete) return complete();
    auto at = sequence.deadline();
    if (!at) {
      timer.cancel();
      return;
    }
    timer.expires_at(*at);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->handle(Event::deadline);
    });
  }

  // Signals go to the group only before the reap: never to a recycled pid.
  void send(int sig) {
    if (reaped || pid <= 0) return;
    // An adopted child whose parent is gone may have been reaped by another:
    // then its group id may be anyone's.
    if (pidfd_signal(pidfd.native_handle(), sig) != 0 && errno == ESRCH && external_reap) return;
    ::kill(-pid, sig);
  }

  void reap() {
    if (external_reap) return reap_through_parent();
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
    OwnedChildren::remove(pid);
    boost::system::error_code ignored;
    pidfd.close(ignored);
  }

  // The status comes later; complete() waits for it.
  void reap_through_parent() {
    reaped = true;
    awaiting_status = true;
    boost::system::error_code ignored;
    pidfd.close(ignored);
    auto reap = std::move(external_reap);
    reap([self = shared_from_this()](std::optional<int> status) {
      asio::post(self->strand, [self, status] {
        if (status && WIFEXITED(*status)) self->result.exit_code = WEXITSTATUS(*status);
        if (status && WIFSIGNALED(*status)) self->result.signal = WTERMSIG(*status);
        self->awaiting_status = false;
        if (self->sequence.complete()) self->complete();
      });
    });
  }

  void complete() {
    if (awaiting_status) return;  // reap_through_parent() calls again
    if (finished) return;
    finished = true;
    timer.cancel();
    result.timed_out = sequence.timed_out();
    result.cancelled = sequence.cancelled();
    result.output = capture.take();
    result.output_dropped_bytes = capture.dropped_bytes();
    auto callback = std::move(done);
    done = nullptr;
    if (callback) callback(std::move(result));
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor pidfd;
  asio::posix::stream_descriptor pipe;
  asio::steady_timer timer;  // at sequence.deadline()
  ProcessOptions options;
  std::function<void(ProcessResult)> done;
  // Set for an adopted child: its parent reaps it and reports the status.
  std::function<void(std::function<void(std::optional<int>)>)> external_reap;
  bool awaiting_status = false;
  KillSequence sequence;
  OutputCapture capture;
  ProcessResult result;
  std::array<char, kReadChunk> buffer;
  Clock::time_point started;
  int pid = 0;
  bool reaped = false;
  bool stop_reading = false;
  bool finished = false;
};

int ChildProcess::pid() const {
  return impl_ ? impl_->pid : 0;
}

void ChildProcess::cancel() const {
  if (!impl_) return;
  asio::post(impl_->strand, [impl = impl_] {
    if (impl->finished || impl->pid <= 0) return;
    impl->handle(Impl::Event::cancel);
  });
}

ChildProcess run_process(asio::io_context& io, ProcessOptions options,
                         std::function<void(ProcessResult)> done) {
  auto impl = std::make_shared<ChildProcess::Impl>(io, std::move(options), std::move(done));
  impl->spawn();
  return ChildProcess(impl);
}

ChildProcess watch_adopted_child(asio::io_context& io, ProcessOptions options, AdoptedChild child,
                                 std::function<void(ProcessResult)> done) {
  auto impl = std::make_shared<ChildProcess::Impl>(io, std::move(options), std::move(done));
  impl->adopt(std::move(child));
  return ChildProcess(impl);
}

}  // namespace hookd
