// The prewarm executor: hook runs forked from a warm CPython (Zygote) that
// compiled the current runbooks snapshot's scripts and imported the preload
// modules once, instead of an interpreter started for every run (spawn).
// A run cannot tell the two apart (executor.h says what must hold).
//
// One zygote per snapshot commit: a new commit starts a new zygote, and the
// old one ends once its last run has been reaped. A zygote that dies is
// started again after a back-off (1 s, doubling up to a minute); until one
// is ready, and for every run a zygote cannot take (a script that did not
// compile cleanly, an environment execve would refuse), runs use the spawn
// executor, so no event waits for a zygote. An interpreter that cannot be a
// zygote (not CPython) turns prewarm off for good, with a warning.
//
// Contained, a zygote never holds more than a run would: it runs in a
// cgroup of its own under the same limits, as the hook user with
// no_new_privs, with a hook's environment; its children join their runs'
// cgroups through descriptors hookd opened, then apply the rlimits and
// subreaper setting, as a spawned child does before its exec.
//
// Metrics: hookd_hook_zygote_rss_bytes, hookd_hook_zygote_ready, hookd_hook_zygote_starts_total,
// hookd_hook_zygote_failures_total, hookd_hook_executor_runs_total{executor}.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hookd/hooks/executor.h"
#include "hookd/hooks/hook_env.h"

namespace hookd {

class Containment;
struct HookRunnerOptions;
struct RunbooksSnapshot;

struct PrewarmOptions {
  std::string interpreter = "/usr/bin/python3";
  std::vector<std::string> preload;  // modules each zygote imports
  HookEnvironment environment;       // a hook's; the zygote gets it too, without a payload
  std::filesystem::path work_dir;    // where run directories go (the zygote's too)
  std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot;
  std::chrono::milliseconds restart_min{1000}, restart_max{60000};
  std::chrono::milliseconds snapshot_poll{1000};  // how often a new commit is looked for
  // Each zygote in a cage of its own (Containment::open_zygote), started
  // with its limits and hook user; each run joins its own cage's cgroups as
  // a spawned run does (zygote_setup.h). Null: process groups only.
  std::shared_ptr<Containment> containment;
};

// `fallback` (the spawn executor) runs what the zygote cannot.
std::unique_ptr<Executor> make_prewarm_executor(boost::asio::io_context& io, PrewarmOptions options,
                                                std::unique_ptr<Executor> fallback);

// The executor --hook-executor asks for: "spawn", "prewarm", or empty for
// prewarm when the interpreter is named like CPython (python, python3,
// python3.11, ...), spawn otherwise. `name` is set to the one chosen.
std::unique_ptr<Executor> make_hook_executor(
    boost::asio::io_context& io, const HookRunnerOptions& options,
    std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot,
    const HookEnvironment& environment, std::string* name = nullptr);

}  // namespace hookd
