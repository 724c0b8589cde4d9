// Hook runner: runs the runbook hook script that answers each journaled event
// as a child process, bounded in time, output and concurrency.
//
// Two layers: run_process() executes one child asynchronously on an Asio
// io_context (posix_spawn + pidfd, no waitpid on a reactor); HookRunner is the
// journal consumer that decides what to run and keeps the results.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;
struct RunbooksSnapshot;

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

// Starts one child in a new process group with stdin on /dev/null and
// stdout+stderr on one pipe; only ProcessOptions::env is its environment and
// no descriptor of the daemon beyond 0-2 is inherited. `done` runs exactly
// once on `io` (never inline) after the child is reaped, its process group
// killed and the pipe closed: no zombie, and nothing left in the group.
// The spawn itself happens on the calling thread, which posix_spawn holds
// until the child has exec'd: milliseconds when the CPUs are busy.
ChildProcess run_process(boost::asio::io_context& io, ProcessOptions options,
                         std::function<void(ProcessResult)> done);

struct HookRunnerOptions {
  std::string interpreter = "/usr/bin/python3";
  std::size_t concurrency = 0;  // 0: 2 x cores
  std::chrono::milliseconds timeout{30000}, kill_grace{5000};
  std::size_t output_max_bytes = 4096;
  std::vector<std::string> extra_env;  // "NAME=VALUE" from --hook-env
  std::filesystem::path work_dir;      // <data-dir>/hook-runs: per-run temp dirs created here
  std::size_t max_waiting = 10000;     // runs read from the journal but not started (bounds memory)
  std::size_t max_results = 10000;     // results kept for status_json (least recently run dropped)
  std::chrono::milliseconds drain_timeout{30000};  // stop(): then running hooks are killed
  std::chrono::milliseconds snapshot_poll{200};    // retry while no runbooks snapshot is loaded
  std::chrono::milliseconds linger{200};           // see ProcessOptions::linger
  // Threads that start hooks (posix_spawn waits until the child has exec'd)
  // and remove run directories, off the reactor. 0: min(concurrency, 4).
  std::size_t spawn_threads = 0;
};

// The "hooks" journal consumer. Every durable event whose type has a script
// in the current runbooks snapshot runs once per arrival, at least once: the
// cursor only passes events whose run has finished, so a restart runs the
// unfinished ones again. Thread-safe; its bookkeeping runs on `io`, while
// starting children and removing run directories (both block) happens on a
// few threads of its own, so neither stalls `io`. Runs are spread over the
// CPUs the daemon may use (ProcessOptions::cpu).
class HookRunner {
 public:
  // Throws std::invalid_argument for an empty work_dir or a malformed
  // extra_env entry (start-up configuration errors).
  HookRunner(boost::asio::io_context& io, Journal& journal,
             std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot,
             HookRunnerOptions options);
  ~HookRunner();  // call after stop() has completed, or once `io` no longer runs
  HookRunner(const HookRunner&) = delete;
  HookRunner& operator=(const HookRunner&) = delete;

  // Registers the "hooks" consumer before returning (a new consumer starts at
  // the journal's end: call it before events are accepted), then runs what
  // lies past its cursor and every newly durable event.
  void start();
  // Takes no new events; waits for running hooks, killing them once
  // drain_timeout has passed. Interrupted runs are not committed (they run
  // again after a restart). `done` runs once on `io` when nothing is left.
  void stop(std::function<void()> done);

  // The latest hook run of this event as JSON (for GET /v1/events/{id}), or
  // nullopt when none ran or it was forgotten.
  std::optional<std::string> status_json(std::string_view event_id) const;
  // Counters and queue state as a JSON object.
  std::string stats_json() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
