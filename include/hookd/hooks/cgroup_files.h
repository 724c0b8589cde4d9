// cgroup_files: one cgroup directory (v1 or v2) as files: read and write
// its control files, list its processes, kill all of them and wait until
// none is left, remove it. Only whole-process operations: hooks never get
// threaded cgroups.
//
// Free functions; they block on cgroupfs (pool threads and start-up only).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

std::optional<std::string> read_cgroup_file(const std::filesystem::path& file);
// The whole file again through a descriptor kept open (pread from offset 0:
// cgroupfs shows a flat file afresh then). Not for v1's cgroup.procs/tasks.
std::optional<std::string> reread_cgroup_file(int fd);
// One write(2) of `value`, as cgroupfs expects.
Status write_cgroup_file(const std::filesystem::path& file, std::string_view value);

// The processes in the cgroup itself (cgroup.procs; not its sub-cgroups).
std::vector<int> cgroup_processes(const std::filesystem::path& dir);

// SIGKILLs every process in `dir` and its sub-cgroups and waits, at most
// `within`, until none is left. v2: cgroup.kill (or a kill loop on kernels
// without it). v1 (`dir` in the freezer hierarchy): freeze, kill each
// process, thaw, so nothing forks in between. The processes it found alive,
// or an error when some are still there after `within`.
Result<std::size_t> kill_cgroup(const std::filesystem::path& dir, bool v2,
                                std::chrono::milliseconds within);

// Kills the processes of `dir` and of every sub-cgroup, then removes them
// all, deepest first; how many processes it killed. For v1 only the
// freezer directory is killed through (`v2` false and `freezer` true).
Result<std::size_t> kill_and_remove_cgroup(const std::filesystem::path& dir, bool v2, bool freezer,
                                           std::chrono::milliseconds within);

}  // namespace hookd
