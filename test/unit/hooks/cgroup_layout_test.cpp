// The pure parts of hook containment: where this process's cgroups are, which
// mode is tried first, and what each limit is written as per cgroup version.
#include "hookd/hooks/cgroup_layout.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>

using hookd::CgroupWrite;
using hookd::ContainmentMode;
using hookd::HookLimits;

namespace {

// A hybrid machine: v1 controllers, an empty v2 at /sys/fs/cgroup/unified.
const char* kHybridMountinfo =
    "23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime shared:9 - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n6:freezer:/\n4:memory:/box/42\n1:cpu:/\n0::/\n";

// systemd's unified layout, hookd.service with Delegate=yes.
const char* kUnifiedMountinfo =
    "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const char* kUnifiedCgroup = "0::/system.slice/hookd.service\n";

// A container with a cgroup namespace: its root is mounted at /sys/fs/cgroup.
const char* kNamespacedMountinfo =
    "600 590 0:26 /../.. /sys/fs/cgroup ro,nosuid - cgroup2 cgroup2 rw\n";

}  // namespace

TEST_CASE("cgroup mounts are read from mountinfo", "[cgroup_layout]") {
  auto mounts = hookd::parse_cgroup_mounts(kHybridMountinfo);
  REQUIRE(mounts.size() == 6);
  CHECK(mounts[0].mount_point == "/sys/fs/cgroup/cpu");
  CHECK(mounts[0].controllers == std::set<std::string>{"cpu"});
  CHECK_FALSE(mounts[0].v2);
  CHECK(mounts[3].controllers == std::set<std::string>{"pids"});  // past the optional fields
  CHECK(mounts[4].controllers == std::set<std::string>{"name=systemd"});
  CHECK(mounts[5].v2);
  CHECK(mounts[5].mount_point == "/sys/fs/cgroup/unified");
  auto escaped = hookd::parse_cgroup_mounts("1 1 0:1 / /mnt/a\\040b rw - cgroup2 none rw\n");
  REQUIRE(escaped.size() == 1);
  CHECK(escaped[0].mount_point == "/mnt/a b");
  CHECK(hookd::parse_cgroup_mounts("garbage\n\n1 2 3\n").empty());
}

TEST_CASE("this process's cgroup directories come from /proc/self/cgroup", "[cgroup_layout]") {
  auto hybrid = hookd::locate_own_cgroups(kHybridCgroup, kHybridMountinfo);
  REQUIRE(hybrid.v2.has_value());
  CHECK(*hybrid.v2 == "/sys/fs/cgroup/unified");
  CHECK(hybrid.v1.at("memory") == "/sys/fs/cgroup/memory/box/42");
  CHECK(hybrid.v1.at("freezer") == "/sys/fs/cgroup/freezer");
  CHECK(hybrid.v1.at("pids") == "/sys/fs/cgroup/pids");
  CHECK(hybrid.v1.count("name=systemd") == 1);

  auto unified = hookd::locate_own_cgroups(kUnifiedCgroup, kUnifiedMountinfo);
  REQUIRE(unified.v2.has_value());
  CHECK(*unified.v2 == "/sys/fs/cgroup/system.slice/hookd.service");
  CHECK(unified.v1.empty());

  // Outside the mount's root: not reachable from here.
  auto outside = hookd::locate_own_cgroups("0::/other\n",
                                           "1 1 0:1 /mine /sys/fs/cgroup rw - cgroup2 none rw\n");
  CHECK_FALSE(outside.v2.has_value());
  auto inside = hookd::locate_own_cgroups("0::/mine/hookd\n",
                                          "1 1 0:1 /mine /sys/fs/cgroup rw - cgroup2 none rw\n");
  REQUIRE(inside.v2.has_value());
  CHECK(*inside.v2 == "/sys/fs/cgroup/hookd");
  CHECK_FALSE(hookd::locate_own_cgroups("0::/\n", kNamespacedMountinfo).v2.has_value());
  CHECK(hookd::locate_own_cgroups("", "").v1.empty());
}

TEST_CASE("modes are tried strongest first", "[cgroup_layout]") {
  using M = ContainmentMode;
  auto hybrid = hookd::locate_own_cgroups(kHybridCgroup, kHybridMountinfo);
  auto unified = hookd::locate_own_cgroups(kUnifiedCgroup, kUnifiedMountinfo);
  hookd::OwnCgroups nothing;
  struct Row {
    const hookd::OwnCgroups* own;
    const char* v2_controllers;
    bool subreaper;
    std::vector<M> modes;
  };
  // clang-format off
  const std::vector<Row> rows = {
    {&unified, "cpuset cpu io memory pids\n", true, {M::cgroup_v2, M::subreaper}},
    {&unified, "cpu io\n",                    true, {M::cgroup_v2, M::subreaper}},  // kill only
    {&hybrid,  "",                            true, {M::cgroup_v1, M::cgroup_v2, M::subreaper}},
    {&hybrid,  "memory pids",                 false,
                                                {M::cgroup_v2, M::cgroup_v1, M::none}},
    {&nothing, "",                            true, {M::subreaper}},
    {&nothing, "",                            false, {M::none}},
  };
  // clang-format on
  for (const auto& row : rows) {
    INFO(row.v2_controllers);
    CHECK(hookd::modes_to_try(std::nullopt, *row.own, row.v2_controllers, row.subreaper) ==
          row.modes);
  }
  CHECK(hookd::modes_to_try(M::cgroup_v1, nothing, "", false) == std::vector<M>{M::cgroup_v1});
}

TEST_CASE("mode names parse both ways", "[cgroup_layout]") {
  std::optional<ContainmentMode> mode = ContainmentMode::none;
  CHECK(hookd::parse_mode("auto", mode));
  CHECK_FALSE(mode.has_value());
  for (auto m : {ContainmentMode::cgroup_v2, ContainmentMode::cgroup_v1, ContainmentMode::subreaper,
                 ContainmentMode::none}) {
    CHECK(hookd::parse_mode(hookd::mode_name(m), mode));
    CHECK(mode == m);
  }
  CHECK_FALSE(hookd::parse_mode("cgroup", mode));
}

TEST_CASE("limits are written per cgroup version", "[cgroup_layout]") {
  HookLimits limits;  // 256 MiB, 64 pids, 1 core
  std::set<std::string> all{"memory", "pids", "cpu"};
  // clang-format off
  CHECK(hookd::cgroup_limit_writes(limits, ContainmentMode::cgroup_v2, all) ==
        std::vector<CgroupWrite>{
          {"memory", "memory.max", "268435456"},
          {"memory", "memory.swap.max", "0", true},
          {"memory", "memory.oom.group", "1", true},
          {"pids", "pids.max", "64"},
          {"cpu", "cpu.max", "100000 100000"},
        });
  limits.cpu_max = 0.25;
  CHECK(hookd::cgroup_limit_writes(limits, ContainmentMode::cgroup_v1, all) ==
        std::vector<CgroupWrite>{
          {"memory", "memory.limit_in_bytes", "268435456"},
          {"memory", "memory.memsw.limit_in_bytes", "268435456", true},
          {"pids", "pids.max", "64"},
          {"cpu", "cpu.cfs_period_us", "100000"},
          {"cpu", "cpu.cfs_quota_us", "25000"},
        });
  // clang-format on
  limits.cpu_max = 0.001;  // below the kernel's 1 ms minimum quota
  CHECK(hookd::cgroup_limit_writes(limits, ContainmentMode::cgroup_v2, {"cpu"}) ==
        std::vector<CgroupWrite>{{"cpu", "cpu.max", "1000 100000"}});
  limits.cpu_max = 2.5;
  CHECK(hookd::cgroup_limit_writes(limits, ContainmentMode::cgroup_v2, {"cpu"}) ==
        std::vector<CgroupWrite>{{"cpu", "cpu.max", "250000 100000"}});
  // Unlimited, or no controller: nothing to write.
  HookLimits off{0, 0, 0, 0};
  CHECK(hookd::cgroup_limit_writes(off, ContainmentMode::cgroup_v2, all).empty());
  CHECK(hookd::cgroup_limit_writes(HookLimits{}, ContainmentMode::cgroup_v1, {}).empty());
  CHECK(hookd::cgroup_limit_writes(HookLimits{}, ContainmentMode::subreaper, all).empty());
}

TEST_CASE("runs join only the controllers of limits that are on", "[cgroup_layout]") {
  HookLimits on;
  HookLimits off{0, 0, 0, 256};
  for (const char* c : {"memory", "pids", "cpu"}) {
    CHECK(hookd::controller_needed(on, c));
    CHECK_FALSE(hookd::controller_needed(off, c));
  }
  CHECK(hookd::controller_needed(off, "freezer"));
  CHECK_FALSE(hookd::controller_needed(on, "cpuset"));
}

TEST_CASE("all runs together weigh as much as the processes they are", "[cgroup_layout]") {
  using M = ContainmentMode;
  std::set<std::string> cpu{"cpu"};
  CHECK(hookd::runs_cpu_weight(M::cgroup_v1, 4, cpu) == CgroupWrite{"cpu", "cpu.shares", "4096"});
  CHECK(hookd::runs_cpu_weight(M::cgroup_v2, 4, cpu) == CgroupWrite{"cpu", "cpu.weight", "400"});
  CHECK(hookd::runs_cpu_weight(M::cgroup_v2, 0, cpu) == CgroupWrite{"cpu", "cpu.weight", "100"});
  CHECK(hookd::runs_cpu_weight(M::cgroup_v2, 500, cpu) ==
        CgroupWrite{"cpu", "cpu.weight", "10000"});
  CHECK(hookd::runs_cpu_weight(M::cgroup_v1, 1000, cpu) ==
        CgroupWrite{"cpu", "cpu.shares", "262144"});
  CHECK_FALSE(hookd::runs_cpu_weight(M::cgroup_v1, 4, {"memory"}).has_value());
  CHECK_FALSE(hookd::runs_cpu_weight(M::subreaper, 4, cpu).has_value());
}

TEST_CASE("limits without a controller fall back to rlimits", "[cgroup_layout]") {
  HookLimits limits;
  using E = hookd::Enforcement;
  using R = hookd::RLimit;
  auto cgroup = hookd::enforcement(limits, {"memory", "pids", "cpu"});
  CHECK(cgroup == E{"cgroup", "cgroup", "cgroup", "rlimit"});
  CHECK(hookd::child_rlimits(limits, cgroup) ==
        std::vector<R>{{RLIMIT_NOFILE, 256}, {RLIMIT_CORE, 0}});
  auto none = hookd::enforcement(limits, {});
  CHECK(none == E{"rlimit", "rlimit", "off", "rlimit"});
  CHECK(hookd::child_rlimits(limits, none) ==
        std::vector<R>{
            {RLIMIT_NOFILE, 256}, {RLIMIT_CORE, 0}, {RLIMIT_AS, 256ull << 20}, {RLIMIT_NPROC, 64}});
  HookLimits off{0, 0, 0, 0};
  auto unlimited = hookd::enforcement(off, {});
  CHECK(unlimited == E{"off", "off", "off", "off"});
  CHECK(hookd::child_rlimits(off, unlimited) == std::vector<R>{{RLIMIT_CORE, 0}});
}

TEST_CASE("cgroup counters and pid lists are read", "[cgroup_layout]") {
  const char* oom_control = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
  CHECK(hookd::cgroup_counter(oom_control, "oom_kill") == 2u);
  CHECK(hookd::cgroup_counter(oom_control, "under_oom") == 0u);
  CHECK_FALSE(hookd::cgroup_counter(oom_control, "oom").has_value());
  CHECK(hookd::cgroup_counter("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n", "max") == 7u);
  CHECK_FALSE(hookd::cgroup_counter("max max\n", "max").has_value());
  CHECK(hookd::cgroup_counter("populated 1\nfrozen 0\n", "populated") == 1u);
  CHECK(hookd::parse_pid_list("12\n345\n\n7\n") == std::vector<int>{12, 345, 7});
  CHECK(hookd::parse_pid_list("").empty());
  CHECK(hookd::parse_pid_list("x\n-3\n0\n").empty());
}
