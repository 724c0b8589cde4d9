// The pure decisions behind hook containment: which cgroup hierarchies this
// process sits in (from /proc/self/cgroup and /proc/self/mountinfo), which
// containment mode to try first, what each limit is written as for each
// cgroup version, and which rlimits stand in where no controller does.
// Reading and writing the files is Containment's and RunCage's.
//
// Value types and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace hookd {

// How a run's processes are kept together and ended, strongest first.
enum class ContainmentMode {
  cgroup_v2,  // one cgroup v2 per run: limits and cgroup.kill
  cgroup_v1,  // v1 freezer (freeze + kill) with pids/memory/cpu where mounted
  subreaper,  // hookd is the child subreaper: orphans come back and are killed
  none,       // the process group only (hookd not set up as a subreaper)
};

std::string_view mode_name(ContainmentMode mode);  // "cgroup-v2", "cgroup-v1", ...
// "auto" is nullopt in `requested`; an unknown name is an error (false).
bool parse_mode(std::string_view text, std::optional<ContainmentMode>& requested);

// The limits every run gets; 0 means unlimited.
struct HookLimits {
  std::uint64_t memory_max = 256ull << 20;  // bytes
  std::uint64_t pids_max = 64;
  double cpu_max = 1.0;  // cores: 0.5 is half of one core
  std::uint64_t open_files = 256;
};

// One mounted cgroup hierarchy, from a mountinfo line.
struct CgroupMount {
  std::filesystem::path mount_point;
  std::string root;  // the hierarchy path mounted there ("/" outside a cgroup namespace)
  bool v2 = false;
  std::set<std::string> controllers;  // v1 only: "memory", "pids", "name=systemd", ...
};
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// This process's cgroup directory in each hierarchy it can reach.
struct OwnCgroups {
  std::optional<std::filesystem::path> v2;
  std::map<std::string, std::filesystem::path> v1;  // controller -> directory
};
OwnCgroups locate_own_cgroups(std::string_view proc_self_cgroup, std::string_view mountinfo);

// The v1 controllers a run uses; "freezer" is the one that makes v1 usable.
inline const std::vector<std::string>& v1_run_controllers() {
  static const std::vector<std::string> names{"freezer", "pids", "memory", "cpu"};
  return names;
}
// The v2 controllers a run uses; auto picks v2 only with memory and pids.
inline const std::vector<std::string>& v2_run_controllers() {
  static const std::vector<std::string> names{"memory", "pids", "cpu"};
  return names;
}

// Whether runs join `controller` at all: not for a limit that is off (a cpu
// cgroup without a quota would still group every run under one weight).
bool controller_needed(const HookLimits& limits, std::string_view controller);

// The modes to try in order. `v2_controllers`: the text of the v2
// cgroup.controllers file of our cgroup ("" when none). `subreaper`: whether
// hookd made itself the child subreaper. A requested mode is the only one.
std::vector<ContainmentMode> modes_to_try(std::optional<ContainmentMode> requested,
                                          const OwnCgroups& own, std::string_view v2_controllers,
                                          bool subreaper);

// One file written in a new run's cgroup. `optional` writes may fail (the
// file is missing on kernels without swap accounting, for instance).
struct CgroupWrite {
  std::string controller;  // v1: the hierarchy; v2: the controller it needs
  std::string file;
  std::string value;
  bool optional = false;
  bool operator==(const CgroupWrite&) const = default;
};
// What a run's cgroup is given, for the controllers in `available`.
std::vector<CgroupWrite> cgroup_limit_writes(const HookLimits& limits, ContainmentMode mode,
                                             const std::set<std::string>& available);

// The CPU weight of hookd's cgroup holding all runs, so that together they
// weigh what `concurrency` processes would outside it (cpu.shares 1024 or
// cpu.weight 100 each, at the kernel's maximum at most); nullopt when runs
// are not in a cpu cgroup.
std::optional<CgroupWrite> runs_cpu_weight(ContainmentMode mode, std::size_t concurrency,
                                           const std::set<std::string>& available);

// How each limit is enforced: "cgroup", "rlimit" or "off".
struct Enforcement {
  std::string memory, pids, cpu, open_files;
  bool operator==(const Enforcement&) const = default;
};
Enforcement enforcement(const HookLimits& limits, const std::set<std::string>& cgroup_controllers);

// A resource limit set in the child before exec (soft = hard).
struct RLimit {
  int resource = 0;
  std::uint64_t value = 0;
  bool operator==(const RLimit&) const = default;
};
// RLIMIT_NOFILE and RLIMIT_CORE 0 always; RLIMIT_AS and RLIMIT_NPROC where
// `how` says rlimit.
std::vector<RLimit> child_rlimits(const HookLimits& limits, const Enforcement& how);

// The value of `key` in a flat-keyed cgroup file ("oom_kill 3\n..."), or
// nullopt when it is missing or not a number.
std::optional<std::uint64_t> cgroup_counter(std::string_view text, std::string_view key);

// The pids in a cgroup.procs or tasks file.
std::vector<int> parse_pid_list(std::string_view text);

}  // namespace hookd
