#include "hookd/hooks/zygote_setup.h"

#include <sys/resource.h>

namespace hookd {
namespace {

const char* rlimit_name(int resource) {
  switch (resource) {
    case RLIMIT_AS:
      return "AS";
    case RLIMIT_CORE:
      return "CORE";
    case RLIMIT_NOFILE:
      return "NOFILE";
    case RLIMIT_NPROC:
      return "NPROC";
    case RLIMIT_FSIZE:
      return "FSIZE";
    case RLIMIT_CPU:
      return "CPU";
    case RLIMIT_DATA:
      return "DATA";
    case RLIMIT_STACK:
      return "STACK";
    default:
      return nullptr;
  }
}

bool same_identity(const std::optional<HookIdentity>& a, const std::optional<HookIdentity>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->uid == b->uid && a->gid == b->gid && a->groups == b->groups);
}

std::string joined(const std::vector<gid_t>& ids) {
  std::string out;
  for (auto id : ids)
    out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

}  // namespace

Result<ZygoteRunSetup> zygote_run_setup(const ChildSetup& run, const ChildSetup* zygote) {
  ZygoteRunSetup out;
  out.params.push_back("session=1");
  if (!run.cgroup_fds.empty()) {
    if (run.cgroup_fds.size() > kZygoteMaxCgroupFds) {
      return make_error("prewarm: more cgroups than a RUN carries");
    }
    out.params.push_back("cgroup.fds=" + std::to_string(run.cgroup_fds.size()));
    out.fds = run.cgroup_fds;
  }
  for (const auto& limit : run.rlimits) {
    const char* name = rlimit_name(limit.resource);
    if (name == nullptr) {
      return make_error("prewarm: rlimit " + std::to_string(limit.resource) + " has no name");
    }
    auto value = limit.value == RLIM_INFINITY ? std::string("inf") : std::to_string(limit.value);
    out.params.push_back(std::string("rlimit.") + name + "=" + value + ":" + value);
  }
  if (run.child_subreaper) out.params.push_back("subreaper=1");
  if (run.no_new_privs) out.params.push_back("no_new_privs=1");
  const auto zygote_identity = zygote ? zygote->identity : std::nullopt;
  if (!same_identity(run.identity, zygote_identity)) {
    // Only a zygote that kept hookd's own identity can switch to another.
    if (zygote_identity) return make_error("prewarm: the zygote runs as another hook user");
    const auto& id = *run.identity;
    out.params.push_back("groups=" + joined(id.groups));
    out.params.push_back("gid=" + std::to_string(id.gid));
    if (id.uid) out.params.push_back("uid=" + std::to_string(*id.uid));
  }
  return out;
}

}  // namespace hookd
