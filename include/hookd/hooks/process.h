// run_process: one child process, run asynchronously on an Asio io_context
// (posix_spawn + pidfd, no waitpid on a reactor), bounded in time and output,
// and ended with its whole process group.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace hookd {

struct ChildSetup;

// What to execute and the bounds it runs under.
struct ProcessOptions {
  std::vector<std::string> argv;               // argv[0] is the executable path (no PATH search)
  std::vector<std::string> env;                // the child's whole environment, "NAME=VALUE"
  std::filesystem::path cwd;                   // empty: the daemon's
  std::chrono::milliseconds timeout{30000};    // then SIGTERM to the process group
  std::chrono::milliseconds kill_grace{5000};  // then SIGKILL to the process group
  std::size_t output_max_bytes = 4096;         // stdout+stderr kept; the rest is counted
  // Once the child itself has exited, how long its descendants may keep the
  // output pipe open before the whole process group is killed.
  std::chrono::milliseconds linger{200};
  // >= 0: once exec'd, the child is moved to this CPU and then allowed back
  // on all the CPUs it could use before, so it starts there and the
  // scheduler may still migrate it.
  int cpu = -1;
  // >= 0: the child's stdin instead of /dev/null (the caller keeps its copy).
  int stdin_fd = -1;
  // Contained runs (hooks/containment.h): what the child does to itself
  // before exec, in its own session. Null: posix_spawn into a new process
  // group, nothing else.
  std::shared_ptr<const ChildSetup> setup;
};

struct ProcessResult {
  std::string spawn_error;                // non-empty: the child never ran
  std::optional<int> exit_code;           // exited normally
  std::optional<int> signal;              // killed by this signal
  bool timed_out = false;                 // the timeout fired
  bool cancelled = false;                 // ChildProcess::cancel() was called
  std::chrono::microseconds duration{0};  // spawn to the child's exit
  std::string output;                     // stdout and stderr interleaved, capped
  std::uint64_t output_dropped_bytes = 0;
  int pid = 0;  // also the process group id
  // What started it: "spawn" or "prewarm" (empty: run_process itself).
  std::string executor;
  // Set by the run's containment once it ended (RunCage::end()).
  bool oom_killed = false;             // the memory limit killed a process of the run
  std::uint64_t processes_killed = 0;  // left alive by the run, killed at its end
};

// A handle on a running child. Copyable; outliving the run is harmless.
class ChildProcess {
 public:
  ChildProcess() = default;
  int pid() const;  // 0 when the spawn failed
  // Ends the run early the way a timeout does (SIGTERM to the group, SIGKILL
  // after kill_grace). Thread-safe; does nothing once the run has finished.
  void cancel() const;

  struct Impl;
  explicit ChildProcess(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

// Starts one child in a new process group (with options.setup: a session of
// its own, set up by spawn_with_setup) with stdin on /dev/null and
// stdout+stderr on one pipe; only ProcessOptions::env is its environment and
// no descriptor of the daemon beyond 0-2 is inherited. `done` runs exactly
// once on `io` (never inline) after the child is reaped, its process group
// killed and the pipe closed: no zombie, and nothing left in the group.
// The spawn itself happens on the calling thread, which posix_spawn holds
// until the child has exec'd: milliseconds when the CPUs are busy.
ChildProcess run_process(boost::asio::io_context& io, ProcessOptions options,
                         std::function<void(ProcessResult)> done);

// A child that another process forked and will reap on request (the prewarm
// zygote's), already in a process group of its own.
struct AdoptedChild {
  int pid = 0;         // also its process group id
  int pidfd = -1;      // opened while it was certainly this child; owned from here on
  int output_fd = -1;  // the read end of its stdout+stderr; owned from here on
  std::chrono::steady_clock::time_point started;  // for ProcessResult::duration
  // Asks its parent to reap it once it has exited; `reaped` gets the raw wait
  // status, or nullopt when that cannot be had (the parent is gone). Called
  // once; `reaped` may run on any thread.
  std::function<void(std::function<void(std::optional<int> wait_status)> reaped)> reap;
};

// Watches an adopted child as run_process watches its own: the same bounds
// (options.argv, env and cwd are not used), kill sequence, capture and
// `done`, which runs once the reap has reported and the pipe is closed.
ChildProcess watch_adopted_child(boost::asio::io_context& io, ProcessOptions options,
                                 AdoptedChild child, std::function<void(ProcessResult)> done);

}  // namespace hookd
