// Containment: nothing a hook starts outlives its run, and no run takes
// more than the limits allow. Chosen once at start-up, strongest first:
//
//   cgroup-v2  hookd's own cgroup v2 (delegated, e.g. systemd Delegate=yes)
//              gets hookd-<pid>/run-<n> per run: memory.max (oom.group),
//              pids.max, cpu.max; the run ends with cgroup.kill.
//   cgroup-v1  the v1 freezer hierarchy (plus pids, memory, cpu where
//              mounted) under hookd's own cgroups: the run ends with
//              freeze, SIGKILL to every member, thaw.
//   subreaper  hookd is the child subreaper (OrphanReaper) and each run's
//              child one for its own descendants, so a run's orphans come
//              back to hookd once the run's child has exited, and are
//              killed then. Limits fall back to rlimits.
//   none       the process group only (hookd not set up as a subreaper).
//
// Limits a cgroup cannot enforce fall back to RLIMIT_AS (memory) and
// RLIMIT_NPROC (pids; per user, so only with an unprivileged --hook-user);
// RLIMIT_NOFILE and RLIMIT_CORE 0 are always set. Every contained child is
// a session leader with PR_SET_NO_NEW_PRIVS, running as the hook user when
// one is given.
//
// A run's containment is a RunCage: open_run() before its child starts,
// whose setup() every executor applies to the child (ChildSetup), and end()
// once its child is gone, which kills and reaps what is left and says
// whether the memory limit killed something.
//
// Thread-safe; open() and the blocking calls belong on start-up and on
// pool threads, never on a reactor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/hooks/cgroup_layout.h"
#include "hookd/hooks/child_setup.h"
#include "hookd/hooks/run_cage.h"

namespace hookd {

struct ContainmentOptions {
  std::optional<ContainmentMode> mode;  // nullopt: auto
  HookLimits limits;
  std::size_t concurrency = 1;           // runs at once: their cgroups' CPU weight together
  std::optional<HookIdentity> identity;  // --hook-user / --hook-group
  // Directories the hook user must traverse to reach its scripts and run
  // directories (the data directory): given o+x, nothing more.
  std::vector<std::filesystem::path> reachable_dirs;
};

class Containment {
 public:
  // Detects the mode (or sets up the one asked for: its failure is the
  // error), creates hookd's own cgroups, removes those of a hookd that died
  // and kills what it left. Logs the mode and, when hooks would run as root,
  // says so.
  static Result<std::shared_ptr<Containment>> open(ContainmentOptions options);
  ~Containment();  // kills what is left of every run, removes hookd's cgroups

  ContainmentMode mode() const;
  // For /readyz: mode, limits and how each is enforced, the hook user.
  std::string describe_json() const;

  // A new run's cage. `run_dir` (its cwd and HOME) is handed to the hook
  // user. The error is the run's spawn error. Blocks.
  // With a hook user, the run dir becomes that user's and `script` (a
  // content-addressed copy of the repository's file, nothing secret) readable
  // by it: hookd's umask 077 made both hookd's alone.
  Result<std::unique_ptr<RunCage>> open_run(const std::filesystem::path& run_dir,
                                            const std::filesystem::path& script = {});
  // A prewarm zygote's cage: a run's cgroups and limits for a process that
  // lives as long as its snapshot, never a subreaper (a run's orphans must
  // come back to hookd), its `scripts` made readable by the hook user. It
  // counts as a run in describe_json(). Blocks.
  Result<std::unique_ptr<RunCage>> open_zygote(const std::vector<std::filesystem::path>& scripts);

  struct Impl;
  explicit Containment(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hookd
