// hookd's children. OwnedChildren records the ones that a part of hookd
// watches and reaps itself (run_process's children, an executor's zygote).
// OrphanReaper makes hookd the child subreaper, so whatever a hook's
// descendants do with sessions and double forks, orphans come back to hookd
// instead of init, and reaps them: only children nobody owns, each by its
// own pid, never with waitpid(-1), so no owner ever loses its child's
// status. In subreaper mode it also kills them (a run's orphans are hookd's
// children only once the run's own child has exited: see ChildSetup's
// child_subreaper).
//
// Both are process-wide and thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>

#include "hookd/core/result.h"

namespace hookd {

class OwnedChildren {
 public:
  // Held from before a spawn (clone, posix_spawn, fork) until the child's
  // pid is add()ed, so the reaper never meets a child of ours that is not
  // recorded yet. Keep it short: the reaper waits for every holder.
  class SpawnGuard {
   public:
    SpawnGuard();
    ~SpawnGuard();
    SpawnGuard(const SpawnGuard&) = delete;
    SpawnGuard& operator=(const SpawnGuard&) = delete;
  };

  static void add(pid_t pid);
  // After the owner has reaped it (not before: the reaper would take it).
  static void remove(pid_t pid);
  static bool owned(pid_t pid);
};

class OrphanReaper {
 public:
  // From main, before any other thread exists: blocks SIGCHLD (every later
  // thread inherits the mask; children get a clean one), makes hookd the
  // child subreaper and starts the thread that reaps orphans on SIGCHLD.
  static Status enable();
  static bool enabled();
  // Stops the reaper thread (at exit).
  static void stop();

  // Reaps every exited child that nobody owns; how many.
  static std::size_t reap_strays();
  // SIGKILLs every child that nobody owns, then the children they leave
  // (which come back to hookd in turn), until none is left or `within` has
  // passed, and reaps them; how many were killed. Blocks.
  static std::size_t kill_strays(std::chrono::milliseconds within);
};

}  // namespace hookd
