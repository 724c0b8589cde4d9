#include "hookd/hooks/containment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <mutex>
#include <system_error>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/text.h"
#include "hookd/hooks/cgroup_files.h"
#include "hookd/hooks/orphan_reaper.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Run cgroups kept for the next runs; beyond these they are removed.
constexpr std::size_t kIdleRunCgroups = 64;

void publish_mode(ContainmentMode active) {
  for (auto mode : {ContainmentMode::cgroup_v2, ContainmentMode::cgroup_v1,
                    ContainmentMode::subreaper, ContainmentMode::none}) {
    metrics()
        .gauge("hookd_hook_containment_mode", "The containment mode hook runs are under (1)",
               {{"mode", std::string(mode_name(mode))}})
        .set(mode == active ? 1 : 0);
  }
}

void publish_limits(const HookLimits& limits, const Enforcement& how) {
  auto limit = [](const char* name, const std::string& by, double value) {
    metrics()
        .gauge("hookd_hook_limit", "Per-run hook limits (0: unlimited) and what enforces each",
               {{"limit", name}, {"enforced_by", by}})
        .set(value);
  };
  limit("memory_bytes", how.memory, static_cast<double>(limits.memory_max));
  limit("pids", how.pids, static_cast<double>(limits.pids_max));
  limit("cpu_cores", how.cpu, limits.cpu_max);
  limit("open_files", how.open_files, static_cast<double>(limits.open_files));
}

// hookd's own directory in one hierarchy and the one it made under it.
struct Hierarchy {
  std::string controller;  // v1: freezer, pids, memory, cpu; v2: ""
  fs::path own;            // the cgroup hookd was started in
  fs::path base;           // own / hookd-<pid>: its runs go under it
};

std::string base_name(pid_t pid) {
  return "hookd-" + std::to_string(pid);
}

bool pid_alive(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

// Kills and removes the hookd-<pid> directories under `own` of hookds that
// died without cleaning up (a crash, SIGKILL): what their runs left.
void remove_stale(const fs::path& own, bool v2, bool freezer) {
  std::error_code ec;
  for (fs::directory_iterator it(own, ec), end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.starts_with("hookd-")) continue;
    int pid = 0;
    auto digits = std::string_view(name).substr(6);
    auto [ptr, err] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (err != std::errc() || ptr != digits.data() + digits.size() || pid <= 0 ||
        pid == ::getpid() || pid_alive(pid)) {
      continue;
    }
    auto killed = kill_and_remove_cgroup(it->path(), v2, freezer, kCageKillWithin);
    if (!killed) {
      log::warn("stale hook cgroup not removed", {{"error", killed.error().message}});
    } else {
      log::info("removed a dead hookd's hook cgroups",
                {{"dir", it->path().string()}, {"processes_killed", *killed}});
    }
  }
}

std::set<std::string> word_set(std::string_view text) {
  std::set<std::string> out;
  std::string word;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty()) out.insert(word);
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) out.insert(word);
  return out;
}

Status make_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return make_error("mkdir " + dir.string() + ": " + errno_text(errno));
  }
  return Ok{};
}

// Enables the run controllers for `base`'s children; the ones it enabled.
std::set<std::string> enable_v2_controllers(const Hierarchy& h, const HookLimits& limits) {
  std::set<std::string> available;
  auto offered = word_set(read_cgroup_file(h.own / "cgroup.controllers").value_or(""));
  for (const auto& c : v2_run_controllers()) {
    if (offered.count(c) && controller_needed(limits, c)) available.insert(c);
  }
  if (available.empty()) return {};
  std::string plus;
  for (const auto& c : available)
    plus += (plus.empty() ? "+" : " +") + c;
  auto enabled = word_set(read_cgroup_file(h.own / "cgroup.subtree_control").value_or(""));
  bool missing = false;
  for (const auto& c : available)
    missing = missing || !enabled.count(c);
  if (missing && !write_cgroup_file(h.own / "cgroup.subtree_control", plus)) {
    // hookd itself sits in its cgroup, and a cgroup with processes cannot
    // hand controllers down: move it into a leaf of its own first.
    auto daemon = h.base / "daemon";
    if (!make_dir(daemon) ||
        !write_cgroup_file(daemon / "cgroup.procs", std::to_string(::getpid())) ||
        !write_cgroup_file(h.own / "cgroup.subtree_control", plus)) {
      return {};
    }
  }
  if (!write_cgroup_file(h.base / "cgroup.subtree_control", plus)) return {};
  return available;
}

}  // namespace

// ---------------------------------------------------------------------------

struct Containment::Impl {
  ContainmentOptions options;
  ContainmentMode mode = ContainmentMode::none;
  std::vector<Hierarchy> hierarchies;  // v1: freezer first
  std::set<std::string> controllers;   // the ones limiting runs
  CageLayout layout;
  Enforcement how;
  ChildSetup base_setup;
  std::atomic<std::uint64_t> runs{0};

  bool cgroups() const {
    return mode == ContainmentMode::cgroup_v1 || mode == ContainmentMode::cgroup_v2;
  }

  Status set_up_v2(const OwnCgroups& own, bool need_limits) {
    if (!own.v2) return make_error("no cgroup v2 hierarchy holds hookd");
    Hierarchy h{"", *own.v2, *own.v2 / base_name(::getpid())};
    if (auto made = make_dir(h.base); !made) return made;
    controllers = enable_v2_controllers(h, options.limits);
    auto missing = [&](const char* c) {
      return controller_needed(options.limits, c) && !controllers.count(c);
    };
    if (need_limits && (missing("memory") || missing("pids"))) {
      ::rmdir(h.base.c_str());
      return make_error("cgroup v2: memory and pids controllers not delegated");
    }
    hierarchies = {h};
    remove_stale(h.own, true, false);
    return Ok{};
  }

  Status set_up_v1(const OwnCgroups& own) {
    for (const auto& controller : v1_run_controllers()) {
      auto it = own.v1.find(controller);
      if (it == own.v1.end() || !controller_needed(options.limits, controller)) continue;
      Hierarchy h{controller, it->second, it->second / base_name(::getpid())};
      auto made = make_dir(h.base);
      if (!made) {
        if (controller == "freezer") return made;
        log::warn("cgroup v1 controller unusable for hooks",
                  {{"controller", controller}, {"error", made.error().message}});
        continue;
      }
      remove_stale(h.own, false, controller == "freezer");
      hierarchies.push_back(h);
      if (controller != "freezer") controllers.insert(controller);
    }
    if (hierarchies.empty() || hierarchies.front().controller != "freezer") {
      return make_error("no cgroup v1 freezer hierarchy holds hookd");
    }
    return Ok{};
  }

  Status set_up(ContainmentMode m, const OwnCgroups& own, bool need_limits) {
    hierarchies.clear();
    controllers.clear();
    switch (m) {
      case ContainmentMode::cgroup_v2:
        return set_up_v2(own, need_limits);
      case ContainmentMode::cgroup_v1:
        return set_up_v1(own);
      case ContainmentMode::subreaper:
        if (!OrphanReaper::enabled()) return make_error("hookd is not the child subreaper");
        return Ok{};
      case ContainmentMode::none:
        return Ok{};
    }
    return Ok{};
  }

  bool hooks_run_as_root() const {
    const auto& id = options.identity;
    if (id && id->uid) return *id->uid == 0;
    return ::geteuid() == 0;
  }

  void plan_children() {
    how = enforcement(options.limits, controllers);
    // RLIMIT_NPROC does not bind root.
    if (how.pids == "rlimit" && hooks_run_as_root()) how.pids = "off";
    layout.mode = mode;
    layout.writes = cgroup_limit_writes(options.limits, mode, controllers);
    if (cgroups()) {
      auto weight = runs_cpu_weight(mode, options.concurrency, controllers);
      for (const auto& h : hierarchies) {
        layout.bases.emplace_back(h.controller, h.base);
        if (!weight || (h.controller != "cpu" && h.controller != "")) continue;
        if (auto set = write_cgroup_file(h.base / weight->file, weight->value); !set) {
          log::warn("hook runs keep the default CPU weight", {{"error", set.error().message}});
        }
      }
      layout.idle = std::make_shared<IdleRunCgroups>(kIdleRunCgroups);
    }
    base_setup.rlimits = child_rlimits(options.limits, how);
    struct rlimit files {};
    if (::geteuid() != 0 && ::getrlimit(RLIMIT_NOFILE, &files) == 0) {
      for (auto& l : base_setup.rlimits) {
        if (l.resource == RLIMIT_NOFILE) l.value = std::min<std::uint64_t>(l.value, files.rlim_max);
      }
    }
    base_setup.child_subreaper = mode == ContainmentMode::subreaper;
    base_setup.no_new_privs = true;
    base_setup.identity = options.identity;
  }

  void open_paths_to_hook_user() {
    const auto& id = options.identity;
    if (!id || !id->uid || *id->uid == ::geteuid()) return;
    for (const auto& dir : options.reachable_dirs) {
      std::error_code ec;
      fs::create_directories(dir, ec);  // made later under umask 077, they would be closed
      struct stat st {};
      if (::stat(dir.c_str(), &st) != 0 || (st.st_mode & S_IXOTH)) continue;
      if (::chmod(dir.c_str(), (st.st_mode & 07777) | S_IXOTH) == 0) {
        log::info("directory made traversable for the hook user", {{"dir", dir.string()}});
      }
    }
  }

  void end_all_runs() {
    if (!cgroups()) {
      if (mode == ContainmentMode::subreaper) OrphanReaper::kill_strays(kCageKillWithin);
      return;
    }
    layout.idle->close();
    bool v2 = mode == ContainmentMode::cgroup_v2;
    for (const auto& h : hierarchies) {
      std::error_code ec;
      for (fs::directory_iterator it(h.base, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->path().filename().string().starts_with("run-")) continue;
        auto ended =
            kill_and_remove_cgroup(it->path(), v2, h.controller == "freezer", kCageKillWithin);
        if (!ended) log::error("hook run cgroup not removed", {{"error", ended.error().message}});
      }
      ::rmdir(h.base.c_str());  // fails harmlessly while hookd itself is in base/daemon
    }
  }
};

// ---------------------------------------------------------------------------

Containment::Containment(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Containment::~Containment() {
  impl_->end_all_runs();
}

Result<std::shared_ptr<Containment>> Containment::open(ContainmentOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  auto own = locate_own_cgroups(read_cgroup_file("/proc/self/cgroup").value_or(""),
                                read_cgroup_file("/proc/self/mountinfo").value_or(""));
  std::string v2_controllers;
  if (own.v2) v2_controllers = read_cgroup_file(*own.v2 / "cgroup.controllers").value_or("");
  auto requested = impl->options.mode;
  auto modes = modes_to_try(requested, own, v2_controllers, OrphanReaper::enabled());
  bool first_v2 = true;
  std::string tried;
  for (auto mode : modes) {
    bool need_limits = !requested && mode == ContainmentMode::cgroup_v2 && first_v2;
    if (mode == ContainmentMode::cgroup_v2) first_v2 = false;
    auto ready = impl->set_up(mode, own, need_limits);
    if (ready) {
      impl->mode = mode;
      break;
    }
    if (requested) {
      return make_error("--hook-containment " + std::string(mode_name(mode)) + ": " +
                        ready.error().message);
    }
    tried +=
        (tried.empty() ? "" : "; ") + std::string(mode_name(mode)) + ": " + ready.error().message;
    impl->mode = ContainmentMode::none;
  }
  impl->plan_children();
  impl->open_paths_to_hook_user();
  publish_mode(impl->mode);
  publish_limits(impl->options.limits, impl->how);

  const auto& how = impl->how;
  log::info("hook containment", {{"mode", mode_name(impl->mode)},
                                 {"requested", requested ? mode_name(*requested) : "auto"},
                                 {"memory", how.memory},
                                 {"pids", how.pids},
                                 {"cpu", how.cpu},
                                 {"open_files", how.open_files},
                                 {"not_used", tried}});
  if (impl->hooks_run_as_root()) {
    log::warn("hooks run as root: give --hook-user to run them as an unprivileged user");
  }
  return std::make_shared<Containment>(std::move(impl));
}

ContainmentMode Containment::mode() const {
  return impl_->mode;
}

std::string Containment::describe_json() const {
  const auto& limits = impl_->options.limits;
  const auto& how = impl_->how;
  auto limit = [](double value, const std::string& by) {
    boost::json::object o;
    o["max"] = value;
    o["enforced_by"] = by;
    return o;
  };
  boost::json::object o;
  o["mode"] = mode_name(impl_->mode);
  o["requested"] = impl_->options.mode ? mode_name(*impl_->options.mode) : "auto";
  boost::json::array dirs;
  for (const auto& h : impl_->hierarchies)
    dirs.push_back(boost::json::string(h.base.string()));
  o["cgroups"] = std::move(dirs);
  boost::json::object l;
  l["memory_bytes"] = limit(static_cast<double>(limits.memory_max), how.memory);
  l["pids"] = limit(static_cast<double>(limits.pids_max), how.pids);
  l["cpu_cores"] = limit(limits.cpu_max, how.cpu);
  l["open_files"] = limit(static_cast<double>(limits.open_files), how.open_files);
  o["limits"] = std::move(l);
  const auto& id = impl_->options.identity;
  o["user"] = id && !id->user.empty() ? boost::json::value(id->user) : nullptr;
  o["group"] = id && !id->group.empty() ? boost::json::value(id->group) : nullptr;
  o["root"] = impl_->hooks_run_as_root();
  o["runs"] = impl_->runs.load();
  return boost::json::serialize(o);
}

Result<std::unique_ptr<RunCage>> Containment::open_run(const fs::path& run_dir,
                                                       const fs::path& script) {
  auto& impl = *impl_;
  const auto& id = impl.options.identity;
  if (id && id->uid && !run_dir.empty() && ::chown(run_dir.c_str(), *id->uid, id->gid) != 0) {
    return make_error("containment: chown " + run_dir.string() + ": " + errno_text(errno));
  }
  if (id && id->uid && !script.empty() && ::chmod(script.c_str(), 0444) != 0) {
    return make_error("containment: chmod " + script.string() + ": " + errno_text(errno));
  }
  return RunCage::open(impl.layout, std::make_shared<ChildSetup>(impl.base_setup), ++impl.runs);
}

Result<std::unique_ptr<RunCage>> Containment::open_zygote(const std::vector<fs::path>& scripts) {
  auto& impl = *impl_;
  const auto& id = impl.options.identity;
  for (const auto& script : scripts) {
    if (id && id->uid && ::chmod(script.c_str(), 0444) != 0) {
      return make_error("containment: chmod " + script.string() + ": " + errno_text(errno));
    }
  }
  auto setup = std::make_shared<ChildSetup>(impl.base_setup);
  setup->child_subreaper = false;
  return RunCage::open(impl.layout, std::move(setup), ++impl.runs);
}

}  // namespace hookd
