// HookRun: one run of a runbook hook script for one journaled event: which
// script (the event type's, in the current runbooks snapshot), what the child
// gets (argv, environment, bounds) and where it runs (a directory of its own,
// its cwd and HOME, removed after the run, or kept for a later one when a
// contained run left it clean: idle_run_dirs.h). Every executor starts a HookRun
// the same way, so a hook cannot tell them apart.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include "hookd/core/result.h"
#include "hookd/hooks/hook_env.h"
#include "hookd/hooks/hook_runner.h"
#include "hookd/hooks/process.h"

namespace hookd {

class IdleRunDirs;
struct Event;
struct RunbooksSnapshot;

struct HookRun {
  std::uint64_t seq = 0;  // the event's, in the journal
  std::string event_id, type, script_name, commit;
  std::int64_t started_unix_ms = 0;
  std::string payload_json;       // until prepare_run_dir() puts it in the environment
  std::filesystem::path run_dir;  // empty until prepare_run_dir()
  int cpu_slot = -1;              // CpuSpread's, or -1
  ProcessOptions process;         // argv and bounds; env and cwd once prepared
  // The event's arrival, for accept-to-exit (hookd_hook_latency_seconds);
  // with event_id it names the arrival this run answers.
  std::int64_t accepted_unix_ms = 0;
  std::optional<std::string> sid;  // the Hoop session id of the payload, if any
};

// The run for `event`, or nullopt when its type has no script in `snapshot`.
// The interpreter and the bounds are the options'.
std::optional<HookRun> plan_hook_run(std::uint64_t seq, const Event& event,
                                     const RunbooksSnapshot& snapshot,
                                     const HookRunnerOptions& options);

// Makes the run's directory under `work_dir` (or takes an idle one) and
// completes the child's environment and cwd. Blocks on the filesystem: not
// for a reactor thread.
Status prepare_run_dir(HookRun& run, const std::filesystem::path& work_dir,
                       const HookEnvironment& environment, IdleRunDirs* idle = nullptr);

// Removes what prepare_run_dir() made, if it made anything. Blocks.
void remove_run_dir(const HookRun& run);

// Creates work_dir if need be and removes the run directories that runs
// interrupted by a crash left behind. Blocks.
std::error_code remove_stale_run_dirs(const std::filesystem::path& work_dir);

}  // namespace hookd
