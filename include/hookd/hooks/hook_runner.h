// HookRunner: the "hooks" journal consumer. It runs the runbook hook script
// that answers each journaled event as a child process, bounded in time,
// output and concurrency, and keeps the results.
//
// The parts, each in its own file: RunWindow (what was read past the cursor,
// in order), hook_run (one run: script, argv, environment, run directory),
// SpawnPool and Executor (starting the child off the reactor), run_process
// with KillSequence and OutputCapture (one child, its group, its output) and
// HookResults (what the runs did).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/hooks/hoop_payload.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class Containment;
class HookResultStore;
class Journal;
struct RunbooksSnapshot;

struct HookRunnerOptions {
  std::string interpreter = "/usr/bin/python3";
  std::size_t concurrency = 0;  // 0: 2 x cores
  std::chrono::milliseconds timeout{30000}, kill_grace{5000};
  std::size_t output_max_bytes = 4096;
  std::vector<std::string> extra_env;               // "NAME=VALUE" from --hook-env
  HookPayloadMode payload = HookPayloadMode::hoop;  // what HOOP_RUNBOOK_HOOK_PAYLOAD holds
  std::filesystem::path work_dir;   // <data-dir>/hook-runs: per-run temp dirs created here
  std::size_t max_waiting = 10000;  // runs read from the journal but not started (bounds memory)
  std::size_t max_results = 10000;  // results kept for status_json (least recently run dropped)
  std::chrono::milliseconds drain_timeout{30000};  // stop(): then running hooks are killed
  std::chrono::milliseconds snapshot_poll{200};    // retry while no runbooks snapshot is loaded
  std::chrono::milliseconds linger{200};           // see ProcessOptions::linger
  // Threads that start hooks (posix_spawn waits until the child has exec'd)
  // and remove run directories, off the reactor. 0: min(concurrency, 4).
  std::size_t spawn_threads = 0;
  // "prewarm" (prewarm_executor.h), "spawn", or empty: prewarm when the
  // interpreter is named like CPython.
  std::string executor;
  // Modules a prewarm zygote imports before its first run. ssl, http.client
  // and urllib.request are left to the runs that import them: they would
  // grow every fork and exit by a fifth for the runs that do not.
  std::vector<std::string> preload = {"json",    "os",   "sys",      "base64",
                                      "hashlib", "hmac", "datetime", "socket"};
  // Each run's cgroup, limits and hook user (hooks/containment.h); null:
  // runs are bounded by their process group only.
  std::shared_ptr<Containment> containment;
  // Where finished runs are kept across restarts (hook_result_store.h);
  // null: only in memory (max_results).
  std::shared_ptr<HookResultStore> result_store;
};

// The "hooks" journal consumer. Every durable event whose type has a script
// in the current runbooks snapshot runs once per arrival, at least once: the
// cursor only passes events whose run has finished and whose result is
// durable in result_store, so a restart runs the unfinished ones again, and
// an arrival whose result was recorded is not run again. Each recorded run's
// hook.finished event follows in the journal (run_recorder.h). hook.* events
// run no hook. Thread-safe; its bookkeeping runs on `io`, while
// starting children and removing run directories (both block) happens on a
// few threads of its own, so neither stalls `io`. Runs are spread over the
// CPUs the daemon may use (ProcessOptions::cpu).
class HookRunner {
 public:
  // Its journal consumer: an event's hook is done once this cursor passed it.
  static constexpr const char* kJournalConsumer = "hooks";

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

  // The latest hook run of this event as JSON (for GET /v1/events/{id}): of
  // this process, else from result_store; nullopt when none ran or it was
  // forgotten.
  std::optional<std::string> status_json(std::string_view event_id) const;
  // Counters and queue state as a JSON object.
  std::string stats_json() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
