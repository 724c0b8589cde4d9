// RunCage: one hook run's containment, from before its child starts until
// everything the run started is gone. In the cgroup modes it is the run's
// cgroup in each hierarchy (run-<n> under hookd's own hookd-<pid>); in
// subreaper mode the end of the run is the subreaper's sweep of orphans.
//
// A run's cgroups are recycled: one that ended empty goes to the next run
// (counters are read against what they said at the start), since creating
// and removing cgroups costs milliseconds a run.
//
// Thread-safe; open() and end() block on cgroupfs (pool threads only).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/hooks/cgroup_layout.h"
#include "hookd/hooks/child_setup.h"

namespace hookd {

// How long the end of a run waits for its processes to go.
inline constexpr std::chrono::milliseconds kCageKillWithin{5000};

// What the end of a run found.
struct CageReport {
  bool oom_killed = false;             // the memory limit killed a process of the run
  std::uint64_t processes_killed = 0;  // still alive when the run ended
  // Every hierarchy's run cgroup was seen empty at the end (cgroup modes):
  // nothing the run started can still touch its directory.
  bool all_gone = false;
};

// Cumulative counters of a run cgroup; throttled: us (v2), ns (v1).
struct RunCgroupCounters {
  std::uint64_t oom_kills = 0, pids_refused = 0, throttled = 0;
};

// The counter files of a run cgroup (oom kills, refused forks, throttling),
// kept open with it: cgroupfs shows them afresh at each read from offset 0,
// so the end of each run reads them without an open and a close. (Not so
// cgroup.procs in v1, whose list a kept descriptor may see up to a second
// old: that is opened at each read.)
inline constexpr std::size_t kRunCgroupCounterFiles = 3;
using RunCgroupCounterFds = std::array<int, kRunCgroupCounterFiles>;  // -1: not open

// A run cgroup that ended empty. Its cgroup.procs files stay open and its
// counters are what they said at its end: nothing can move them while it is
// empty, so the next run needs neither an open nor a read to start.
struct IdleRunCgroup {
  std::string name;
  std::vector<int> procs_fds;  // owned; one per hierarchy, in the layout's order
  RunCgroupCounters counters;
  RunCgroupCounterFds counter_fds{-1, -1, -1};  // owned
};

// Run cgroups that ended empty, ready for another run. Thread-safe.
class IdleRunCgroups {
 public:
  explicit IdleRunCgroups(std::size_t max_idle) : max_idle_(max_idle) {}
  ~IdleRunCgroups();  // closes what is still idle
  IdleRunCgroups(const IdleRunCgroups&) = delete;
  IdleRunCgroups& operator=(const IdleRunCgroups&) = delete;
  std::optional<IdleRunCgroup> take();
  // False when full or closed: then the caller closes its descriptors and
  // removes the cgroups.
  bool give_back(IdleRunCgroup& cgroup);
  // Takes no more; closes the descriptors of those still idle, whose
  // cgroups the caller removes.
  void close();

 private:
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<IdleRunCgroup> idle_;
  bool closed_ = false;
};

// Where and how a Containment puts its runs.
struct CageLayout {
  ContainmentMode mode = ContainmentMode::none;
  // (controller, hookd's hookd-<pid> directory) per hierarchy; v1: freezer
  // first, v2: one entry with controller "".
  std::vector<std::pair<std::string, std::filesystem::path>> bases;
  std::vector<CgroupWrite> writes;  // a new run cgroup's limits
  std::shared_ptr<IdleRunCgroups> idle;
};

class RunCage {
 public:
  // The cage for one run: recycled cgroups or new ones named run-<n>, and
  // `setup` completed with them. The error is the run's spawn error.
  static Result<std::unique_ptr<RunCage>> open(const CageLayout& layout,
                                               std::shared_ptr<ChildSetup> setup, std::uint64_t n);
  ~RunCage();  // end(), if it was not called
  RunCage(const RunCage&) = delete;
  RunCage& operator=(const RunCage&) = delete;

  // For the child: the cgroups to join, rlimits, identity.
  std::shared_ptr<const ChildSetup> setup() const;
  // Kills every process left of the run, waits until they are gone (and
  // reaped, where they came back to hookd), then recycles or removes the
  // run's cgroups. Once; later calls return the same report. Blocks.
  CageReport end();

  struct State;
  explicit RunCage(std::unique_ptr<State> state);

 private:
  std::unique_ptr<State> state_;
};

}  // namespace hookd
