#include "hookd/hooks/cgroup_layout.h"

#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace hookd {
namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(sep, start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  for (auto line : split(text, '\n')) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// Whitespace-separated words.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      auto digits = text.substr(i + 1, 3);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(
            static_cast<char>((digits[0] - '0') * 64 + (digits[1] - '0') * 8 + (digits[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// `path` (a cgroup path as /proc/self/cgroup shows it) under a mount of
// hierarchy path `root`, or nullopt when the mount does not reach it.
std::optional<std::filesystem::path> directory_under(const CgroupMount& mount,
                                                     std::string_view path) {
  std::string_view root = mount.root;
  while (root.size() > 1 && root.back() == '/')
    root.remove_suffix(1);
  std::string_view rest;
  if (root == "/") {
    rest = path;
  } else if (path == root) {
    rest = "";
  } else if (path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/') {
    rest = path.substr(root.size());
  } else {
    return std::nullopt;
  }
  while (!rest.empty() && rest.front() == '/')
    rest.remove_prefix(1);
  if (rest.find("..") != std::string_view::npos) return std::nullopt;
  auto dir = mount.mount_point;
  if (!rest.empty()) dir /= std::string(rest);
  return dir;
}

std::string cpu_quota_us(double cores) {
  auto quota = static_cast<std::uint64_t>(std::llround(cores * static_cast<double>(kCpuPeriodUs)));
  return std::to_string(std::max<std::uint64_t>(quota, 1000));
}

}  // namespace

std::string_view mode_name(ContainmentMode mode) {
  switch (mode) {
    case ContainmentMode::cgroup_v2:
      return "cgroup-v2";
    case ContainmentMode::cgroup_v1:
      return "cgroup-v1";
    case ContainmentMode::subreaper:
      return "subreaper";
    case ContainmentMode::none:
      return "none";
  }
  return "none";
}

bool parse_mode(std::string_view text, std::optional<ContainmentMode>& requested) {
  if (text == "auto") {
    requested.reset();
    return true;
  }
  for (auto mode : {ContainmentMode::cgroup_v2, ContainmentMode::cgroup_v1,
                    ContainmentMode::subreaper, ContainmentMode::none}) {
    if (text == mode_name(mode)) {
      requested = mode;
      return true;
    }
  }
  return false;
}

// 36 35 98:0 /root /mnt/point rw,noatime master:1 - cgroup cgroup rw,memory
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  for (auto line : lines(mountinfo)) {
    auto fields = words(line);
    auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    std::string_view fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount mount;
    mount.root = unescape_octal(fields[3]);
    mount.mount_point = unescape_octal(fields[4]);
    mount.v2 = fstype == "cgroup2";
    if (!mount.v2) {
      for (auto option : split(dash[3], ',')) {
        if (option != "rw" && option != "ro" && !option.empty()) {
          mount.controllers.insert(std::string(option));
        }
      }
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

// /proc/self/cgroup: "4:memory:/a/b" (v1) and "0::/a/b" (v2).
OwnCgroups locate_own_cgroups(std::string_view proc_self_cgroup, std::string_view mountinfo) {
  auto mounts = parse_cgroup_mounts(mountinfo);
  OwnCgroups own;
  for (auto line : lines(proc_self_cgroup)) {
    auto first = line.find(':');
    auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    auto id = line.substr(0, first);
    auto controllers = line.substr(first + 1, second - first - 1);
    auto path = line.substr(second + 1);
    if (id == "0" && controllers.empty()) {
      for (const auto& mount : mounts) {
        if (!mount.v2) continue;
        if (auto dir = directory_under(mount, path)) {
          own.v2 = *dir;
          break;
        }
      }
      continue;
    }
    for (auto controller : split(controllers, ',')) {
      if (controller.empty() || own.v1.count(std::string(controller))) continue;
      for (const auto& mount : mounts) {
        if (mount.v2 || !mount.controllers.count(std::string(controller))) continue;
        if (auto dir = directory_under(mount, path)) {
          own.v1[std::string(controller)] = *dir;
          break;
        }
      }
    }
  }
  return own;
}

bool controller_needed(const HookLimits& limits, std::string_view controller) {
  if (controller == "memory") return limits.memory_max > 0;
  if (controller == "pids") return limits.pids_max > 0;
  if (controller == "cpu") return limits.cpu_max > 0;
  return controller == "freezer";
}

std::vector<ContainmentMode> modes_to_try(std::optional<ContainmentMode> requested,
                                          const OwnCgroups& own, std::string_view v2_controllers,
                                          bool subreaper) {
  if (requested) return {*requested};
  auto names = words(v2_controllers);
  auto has = [&](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  std::vector<ContainmentMode> modes;
  bool v2_limits = own.v2 && has("memory") && has("pids");
  if (v2_limits) modes.push_back(ContainmentMode::cgroup_v2);
  if (own.v1.count("freezer")) modes.push_back(ContainmentMode::cgroup_v1);
  // A v2 hierarchy without controllers still holds a run together and
  // ends it with cgroup.kill: stronger than the subreaper alone.
  if (own.v2 && !v2_limits) modes.push_back(ContainmentMode::cgroup_v2);
  modes.push_back(subreaper ? ContainmentMode::subreaper : ContainmentMode::none);
  return modes;
}

std::vector<CgroupWrite> cgroup_limit_writes(const HookLimits& limits, ContainmentMode mode,
                                             const std::set<std::string>& available) {
  std::vector<CgroupWrite> writes;
  auto add = [&](const char* controller, const char* file, std::string value,
                 bool optional = false) {
    if (available.count(controller))
      writes.push_back({controller, file, std::move(value), optional});
  };
  if (mode == ContainmentMode::cgroup_v2) {
    if (limits.memory_max > 0) {
      add("memory", "memory.max", std::to_string(limits.memory_max));
      add("memory", "memory.swap.max", "0", true);
      // On OOM the whole run goes, not just its largest process.
      add("memory", "memory.oom.group", "1", true);
    }
    if (limits.pids_max > 0) add("pids", "pids.max", std::to_string(limits.pids_max));
    if (limits.cpu_max > 0) {
      add("cpu", "cpu.max", cpu_quota_us(limits.cpu_max) + " " + std::to_string(kCpuPeriodUs));
    }
  } else if (mode == ContainmentMode::cgroup_v1) {
    if (limits.memory_max > 0) {
      add("memory", "memory.limit_in_bytes", std::to_string(limits.memory_max));
      add("memory", "memory.memsw.limit_in_bytes", std::to_string(limits.memory_max), true);
    }
    if (limits.pids_max > 0) add("pids", "pids.max", std::to_string(limits.pids_max));
    if (limits.cpu_max > 0) {
      add("cpu", "cpu.cfs_period_us", std::to_string(kCpuPeriodUs));
      add("cpu", "cpu.cfs_quota_us", cpu_quota_us(limits.cpu_max));
    }
  }
  return writes;
}

std::optional<CgroupWrite> runs_cpu_weight(ContainmentMode mode, std::size_t concurrency,
                                           const std::set<std::string>& available) {
  if (!available.count("cpu")) return std::nullopt;
  std::uint64_t n = std::max<std::size_t>(concurrency, 1);
  if (mode == ContainmentMode::cgroup_v2) {
    return CgroupWrite{"cpu", "cpu.weight",
                       std::to_string(std::min<std::uint64_t>(100 * n, 10000))};
  }
  if (mode == ContainmentMode::cgroup_v1) {
    return CgroupWrite{"cpu", "cpu.shares",
                       std::to_string(std::min<std::uint64_t>(1024 * n, 262144))};
  }
  return std::nullopt;
}

Enforcement enforcement(const HookLimits& limits, const std::set<std::string>& cgroup_controllers) {
  auto by = [&](bool limited, const char* controller, const char* fallback) -> std::string {
    if (!limited) return "off";
    if (cgroup_controllers.count(controller)) return "cgroup";
    return fallback;
  };
  Enforcement how;
  how.memory = by(limits.memory_max > 0, "memory", "rlimit");
  how.pids = by(limits.pids_max > 0, "pids", "rlimit");
  how.cpu = by(limits.cpu_max > 0, "cpu", "off");
  how.open_files = limits.open_files > 0 ? "rlimit" : "off";
  return how;
}

std::vector<RLimit> child_rlimits(const HookLimits& limits, const Enforcement& how) {
  std::vector<RLimit> out;
  if (how.open_files == "rlimit") out.push_back({RLIMIT_NOFILE, limits.open_files});
  out.push_back({RLIMIT_CORE, 0});
  if (how.memory == "rlimit") out.push_back({RLIMIT_AS, limits.memory_max});
  if (how.pids == "rlimit") out.push_back({RLIMIT_NPROC, limits.pids_max});
  return out;
}

std::optional<std::uint64_t> cgroup_counter(std::string_view text, std::string_view key) {
  for (auto line : lines(text)) {
    auto w = words(line);
    if (w.size() != 2 || w[0] != key) continue;
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), value);
    if (ec != std::errc() || ptr != w[1].data() + w[1].size()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

std::vector<int> parse_pid_list(std::string_view text) {
  std::vector<int> pids;
  for (auto line : lines(text)) {
    int pid = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && ptr == line.data() + line.size() && pid > 0) pids.push_back(pid);
  }
  return pids;
}

}  // namespace hookd
