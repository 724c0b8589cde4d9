// ChildSetup: what a contained hook's child does to itself between fork and
// exec: its own session, the run's cgroups, rlimits, no_new_privs and the
// hook user. spawn_with_setup() starts such a child the way posix_spawn
// would (a CLONE_VM|CLONE_VFORK child on a stack of its own, running only
// raw system calls, everything prepared before the clone), so it costs about
// what posix_spawn does.
//
// Another executor (a zygote's forked child) applies the same ChildSetup in
// the same order: setsid, join the cgroups (write "0" to each path, or have
// hookd call join_cgroups() with the pid before the child goes on), the
// rlimits, PR_SET_CHILD_SUBREAPER when asked, PR_SET_NO_NEW_PRIVS, then
// setgroups/setgid/setuid.
//
// Value types; spawn_with_setup is thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/hooks/cgroup_layout.h"

namespace hookd {

// Who a hook runs as: --hook-user and --hook-group, resolved at start-up.
struct HookIdentity {
  std::string user, group;  // as given ("" when not given)
  std::optional<uid_t> uid;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included
};

// --hook-user NAME and/or --hook-group NAME; nullopt when neither is given.
// The error names what does not exist.
Result<std::optional<HookIdentity>> resolve_hook_identity(const std::string& user,
                                                          const std::string& group);

struct ChildSetup {
  std::vector<std::string> cgroup_procs;  // the run's cgroup.procs files, joined in this order
  std::vector<int> cgroup_fds;            // the same files opened for writing (the cage owns them)
  std::vector<RLimit> rlimits;
  bool child_subreaper = false;  // the run's orphans stay in its tree while it runs
  bool no_new_privs = true;
  std::optional<HookIdentity> identity;
};

// Writes `pid` into each of setup.cgroup_procs: for a child that hookd did
// not start itself, before it starts anything.
Status join_cgroups(const ChildSetup& setup, pid_t pid);

struct SetupSpawn {
  const std::vector<std::string>& argv;  // argv[0] is the executable (no PATH search)
  const std::vector<std::string>& env;
  const std::string& cwd;  // empty: hookd's
  int output_fd;           // becomes stdout and stderr
  const ChildSetup& setup;
  int stdin_fd = -1;  // >= 0: the child's stdin instead of /dev/null (a zygote's socket)
};

struct SpawnedWithSetup {
  pid_t pid = 0;
  int pidfd = -1;
};

// Starts the child, a session leader, once it has exec'd. The error names
// the step that failed (the executable's path when exec did); the child is
// reaped by then. The caller owns the pidfd and reaps the child.
Result<SpawnedWithSetup> spawn_with_setup(const SetupSpawn& spawn);

}  // namespace hookd
