#include "hookd/hooks/run_cage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/text.h"
#include "hookd/hooks/cgroup_files.h"
#include "hookd/hooks/cgroup_layout.h"
#include "hookd/hooks/orphan_reaper.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;

struct CageMetrics {
  Counter& killed = metrics().counter(
      "hookd_hook_run_processes_killed_total",
      "Processes of a hook run still alive when the run ended, killed by containment");
  Counter& pids_refused =
      metrics().counter("hookd_hook_pids_max_refused_total",
                        "Forks of hook runs refused by --hook-pids-max (cgroup)");
  Counter& throttled =
      metrics().counter("hookd_hook_cpu_throttled_seconds_total",
                        "Time hook runs were throttled by --hook-cpu-max (cgroup)");
  Counter& errors(std::string_view what) {
    return metrics().counter("hookd_hook_containment_errors_total",
                             "Run cgroups that could not be made, emptied or removed",
                             {{"what", std::string(what)}});
  }
  Counter& create_errors = errors("create");
  Counter& end_errors = errors("end");
};

CageMetrics& cage_metrics() {
  static CageMetrics m;
  return m;
}

using Counters = RunCgroupCounters;

void close_all(std::vector<int>& fds) {
  for (int fd : fds)
    ::close(fd);
  fds.clear();
}

void close_all(RunCgroupCounterFds& fds) {
  for (int& fd : fds) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

// The counter files, in RunCgroupCounterFds' order: controller, file (v1,
// v2) and key (v1, v2).
struct CounterFile {
  const char* controller;
  const char* file[2];
  const char* key[2];
};
constexpr CounterFile kCounterFiles[kRunCgroupCounterFiles] = {
    {"memory", {"memory.oom_control", "memory.events"}, {"oom_kill", "oom_kill"}},
    {"pids", {"pids.events", "pids.events"}, {"max", "max"}},
    {"cpu", {"cpu.stat", "cpu.stat"}, {"throttled_time", "throttled_usec"}},
};

}  // namespace

IdleRunCgroups::~IdleRunCgroups() {
  close();
}

std::optional<IdleRunCgroup> IdleRunCgroups::take() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return std::nullopt;
  auto cgroup = std::move(idle_.back());
  idle_.pop_back();
  return cgroup;
}

bool IdleRunCgroups::give_back(IdleRunCgroup& cgroup) {
  std::lock_guard lock(mutex_);
  if (closed_ || idle_.size() >= max_idle_) return false;
  idle_.push_back(std::move(cgroup));
  cgroup.procs_fds.clear();  // the pool's now
  cgroup.counter_fds.fill(-1);
  return true;
}

void IdleRunCgroups::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (auto& cgroup : idle_) {
    close_all(cgroup.procs_fds);
    close_all(cgroup.counter_fds);
  }
  idle_.clear();
}

struct RunCage::State {
  ContainmentMode mode = ContainmentMode::none;
  std::shared_ptr<IdleRunCgroups> idle;
  std::string name;                                    // run-<n>
  std::vector<std::pair<std::string, fs::path>> dirs;  // (controller, run cgroup); freezer first
  std::shared_ptr<ChildSetup> setup;
  Counters at_start;
  RunCgroupCounterFds counter_fds{-1, -1, -1};  // opened at the first read, kept with the cgroup
  bool ended = false;
  CageReport report;
  std::mutex mutex;

  bool v2() const { return mode == ContainmentMode::cgroup_v2; }

  std::uint64_t counter(std::size_t which) {
    const CounterFile& f = kCounterFiles[which];
    int& fd = counter_fds[which];
    for (const auto& [c, dir] : dirs) {
      if (c != f.controller && !v2()) continue;
      if (fd < 0) fd = ::open((dir / f.file[v2()]).c_str(), O_RDONLY | O_CLOEXEC);
      auto text = fd >= 0 ? reread_cgroup_file(fd) : std::nullopt;
      return text ? cgroup_counter(*text, f.key[v2()]).value_or(0) : 0;
    }
    return 0;
  }

  Counters counters() {
    Counters c;
    c.oom_kills = counter(0);
    c.pids_refused = counter(1);
    c.throttled = counter(2);
    return c;
  }

  // A new run cgroup in every hierarchy, with the limits.
  Status create(const CageLayout& layout) {
    for (const auto& [controller, base] : layout.bases) {
      auto dir = base / name;
      if (::mkdir(dir.c_str(), 0755) != 0) {
        return make_error("mkdir " + dir.string() + ": " + errno_text(errno));
      }
      dirs.emplace_back(controller, dir);
      for (const auto& w : layout.writes) {
        if (!v2() && w.controller != controller) continue;
        auto written = write_cgroup_file(dir / w.file, w.value);
        if (!written && !w.optional) return written;
      }
    }
    return Ok{};
  }

  Status open_for_child() {
    for (const auto& [controller, dir] : dirs) {
      auto procs = dir / "cgroup.procs";
      // Readable too, so that the run's end reads it without opening it again
      // (empty_by_fds); writable is all a child needs.
      int fd = ::open(procs.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return make_error(procs.string() + ": " + errno_text(errno));
      setup->cgroup_fds.push_back(fd);
      setup->cgroup_procs.push_back(procs.string());
    }
    return Ok{};
  }

  void close_fds() {
    if (setup) close_all(setup->cgroup_fds);
    close_all(counter_fds);
  }

  // The run's counters now, against those at its start.
  Counters count_limits_hit() {
    auto now = counters();
    report.oom_killed = now.oom_kills > at_start.oom_kills;
    auto& m = cage_metrics();
    if (now.pids_refused > at_start.pids_refused) {
      m.pids_refused.inc(static_cast<double>(now.pids_refused - at_start.pids_refused));
    }
    if (now.throttled > at_start.throttled) {
      m.throttled.inc(static_cast<double>(now.throttled - at_start.throttled) / (v2() ? 1e6 : 1e9));
    }
    return now;
  }

  // The usual end under cgroup v1: no process left in any of the run's
  // cgroups and no cgroup below the freezer's (what kill_cgroup would find
  // first), read through the cgroup.procs descriptors kept for the children
  // instead of a path walk per file. False when that cannot be read. (v2
  // also waits for cgroup.events to say unpopulated: kill_cgroup.)
  bool empty_by_fds() {
    if (v2() || !setup || setup->cgroup_fds.size() != dirs.size()) return false;
    const auto& fds = setup->cgroup_fds;
    // A cgroup directory's link count is 2 plus its sub-cgroups (kernfs).
    struct stat st {};
    if (::stat(dirs.front().second.c_str(), &st) != 0 || st.st_nlink != 2) return false;
    for (int fd : fds) {
      auto text = reread_cgroup_file(fd);
      if (!text || !parse_pid_list(*text).empty()) return false;
    }
    return true;
  }

  void end_cgroups() {
    std::string error;
    bool empty = empty_by_fds();
    if (!empty) {
      auto killed = kill_cgroup(dirs.front().second, v2(), kCageKillWithin);
      if (killed) {
        report.processes_killed = *killed;
      } else {
        error = killed.error().message;
      }
      // Only a cgroup that every hierarchy says is empty goes to another run
      // (a root hook may have moved itself out of the freezer's).
      empty = error.empty();
      for (std::size_t i = 1; i < dirs.size() && empty; ++i)
        empty = cgroup_processes(dirs[i].second).empty();
    }
    auto now = count_limits_hit();
    report.all_gone = empty;
    IdleRunCgroup recycled{name, setup ? std::move(setup->cgroup_fds) : std::vector<int>(), now,
                           counter_fds};
    if (setup) setup->cgroup_fds.clear();
    counter_fds.fill(-1);  // recycled's now
    bool kept =
        empty && idle && recycled.procs_fds.size() == dirs.size() && idle->give_back(recycled);
    close_all(recycled.procs_fds);
    close_all(recycled.counter_fds);
    if (!kept) {
      for (const auto& [controller, dir] : dirs) {
        auto removed = kill_and_remove_cgroup(dir, v2(), controller == "freezer", kCageKillWithin);
        if (!removed && error.empty()) error = removed.error().message;
      }
    }
    if (!error.empty()) {
      cage_metrics().end_errors.inc();
      log::error("hook run cgroup not emptied", {{"error", error}});
    }
    // What came back to hookd and was killed: reaped now, not on the next
    // SIGCHLD. Nothing killed, nothing came back from this run: an orphan of
    // it that ended by itself raised its own SIGCHLD.
    if (report.processes_killed > 0) OrphanReaper::reap_strays();
  }

  CageReport end() {
    std::lock_guard lock(mutex);
    if (ended) return report;
    ended = true;
    if (!dirs.empty()) {
      end_cgroups();  // keeps the cgroup.procs descriptors with a recycled cgroup
    } else if (mode == ContainmentMode::subreaper) {
      report.processes_killed = OrphanReaper::kill_strays(kCageKillWithin);
    }
    close_fds();
    if (report.processes_killed > 0) {
      cage_metrics().killed.inc(static_cast<double>(report.processes_killed));
    }
    return report;
  }
};

Result<std::unique_ptr<RunCage>> RunCage::open(const CageLayout& layout,
                                               std::shared_ptr<ChildSetup> setup, std::uint64_t n) {
  auto state = std::make_unique<State>();
  state->mode = layout.mode;
  state->setup = std::move(setup);
  state->idle = layout.idle;
  if (!layout.bases.empty()) {
    auto recycled = layout.idle ? layout.idle->take() : std::nullopt;
    state->name = recycled ? recycled->name : "run-" + std::to_string(n);
    Status made = Ok{};
    if (recycled) {
      for (const auto& [controller, base] : layout.bases) {
        state->dirs.emplace_back(controller, base / state->name);
        state->setup->cgroup_procs.push_back((base / state->name / "cgroup.procs").string());
      }
      state->setup->cgroup_fds = std::move(recycled->procs_fds);
      state->counter_fds = recycled->counter_fds;
      state->at_start = recycled->counters;
    } else {
      made = state->create(layout);
      if (made) made = state->open_for_child();
    }
    if (!made) {
      cage_metrics().create_errors.inc();
      state->idle = nullptr;  // removed, not recycled
      RunCage undone(std::move(state));
      return make_error("containment: " + made.error().message);
    }
    if (!recycled) state->at_start = state->counters();
  }
  return std::make_unique<RunCage>(std::move(state));
}

RunCage::RunCage(std::unique_ptr<State> state) : state_(std::move(state)) {}

RunCage::~RunCage() {
  if (state_) state_->end();
}

std::shared_ptr<const ChildSetup> RunCage::setup() const {
  return state_->setup;
}

CageReport RunCage::end() {
  return state_->end();
}

}  // namespace hookd
