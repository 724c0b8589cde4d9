#include "hookd/hooks/child_setup.h"
#include "hookd/core/text.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

namespace hookd {
namespace {

// The kernel's struct sigaction (x86-64 and arm64 layout), for rt_sigaction.
struct KernelSigaction {
  void* handler = nullptr;  // SIG_DFL
  unsigned long flags = 0;
  void* restorer = nullptr;
  unsigned long mask = 0;
};

enum Step : int {
  kNone = 0,
  kSession,
  kCgroup,
  kRlimit,
  kSubreaper,
  kNoNewPrivs,
  kSetgroups,
  kSetgid,
  kSetuid,
  kChdir,
  kStdio,
  kExec,
};

const char* step_name(int step) {
  switch (step) {
    case kSession:
      return "setsid";
    case kCgroup:
      return "joining the run's cgroup";
    case kRlimit:
      return "setrlimit";
    case kSubreaper:
      return "PR_SET_CHILD_SUBREAPER";
    case kNoNewPrivs:
      return "PR_SET_NO_NEW_PRIVS";
    case kSetgroups:
      return "setgroups";
    case kSetgid:
      return "setgid";
    case kSetuid:
      return "setuid";
    case kChdir:
      return "chdir";
    case kStdio:
      return "stdio";
    default:
      return "exec";
  }
}

struct ResourceLimit {
  int resource;
  struct rlimit value;
};

// Everything the child reads, prepared before the clone. The child shares
// the parent's memory (CLONE_VM), so it writes only the two failure fields.
struct Plan {
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: unchanged
  int stdin_fd;     // -1: /dev/null
  int output_fd;
  const int* cgroup_fds;
  std::size_t cgroup_count;
  const ResourceLimit* limits;
  std::size_t limit_count;
  bool subreaper;
  bool no_new_privs;
  bool set_groups;
  bool set_uid;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t group_count;
  volatile int failed_step;
  volatile int failed_errno;
};

// The child runs on a small stack of hookd's, which sanitizer runtimes do
// not know: their instrumentation (ASan's no-return stack unpoisoning, which
// then maps memory) must stay out of the child's code.
#define HOOKD_CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

[[noreturn]] HOOKD_CHILD_CODE void child_fail(Plan* plan, int step) {
  plan->failed_errno = errno;
  plan->failed_step = step;
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// The child, between clone and exec. It shares hookd's memory while hookd's
// other threads run on, so it takes no lock and allocates nothing: raw
// system calls only (syscall() is resolved before the clone).
HOOKD_CHILD_CODE int child_main(void* arg) {
  auto* plan = static_cast<Plan*>(arg);
  // Handlers of hookd's would run on hookd's memory: back to defaults first,
  // then the mask the parent blocked for the clone.
  KernelSigaction dfl;
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    }
  }
  unsigned long empty = 0;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof empty);

  if (::syscall(SYS_setsid) < 0) child_fail(plan, kSession);
  for (std::size_t i = 0; i < plan->cgroup_count; ++i) {
    if (::syscall(SYS_write, plan->cgroup_fds[i], "0", 1) != 1) child_fail(plan, kCgroup);
  }
  for (std::size_t i = 0; i < plan->limit_count; ++i) {
    if (::syscall(SYS_prlimit64, 0, plan->limits[i].resource, &plan->limits[i].value, nullptr) !=
        0) {
      child_fail(plan, kRlimit);
    }
  }
  if (plan->subreaper && ::syscall(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    child_fail(plan, kSubreaper);
  }
  if (plan->no_new_privs && ::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    child_fail(plan, kNoNewPrivs);
  }
  // Raw calls on purpose: glibc's setuid() would signal every thread of the
  // process it believes it is, which is hookd's.
  if (plan->set_groups) {
    if (::syscall(SYS_setgroups, plan->group_count, plan->groups) != 0) {
      child_fail(plan, kSetgroups);
    }
    if (::syscall(SYS_setresgid, plan->gid, plan->gid, plan->gid) != 0) child_fail(plan, kSetgid);
  }
  if (plan->set_uid && ::syscall(SYS_setresuid, plan->uid, plan->uid, plan->uid) != 0) {
    child_fail(plan, kSetuid);
  }
  if (plan->cwd != nullptr && ::syscall(SYS_chdir, plan->cwd) != 0) child_fail(plan, kChdir);

  long in_fd = plan->stdin_fd >= 0 ? plan->stdin_fd
                                   : ::syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0);
  if (in_fd < 0) child_fail(plan, kStdio);
  if (in_fd != 0 && ::syscall(SYS_dup3, in_fd, 0, 0) != 0) child_fail(plan, kStdio);
  if (::syscall(SYS_dup3, plan->output_fd, 1, 0) != 1) child_fail(plan, kStdio);
  if (::syscall(SYS_dup3, plan->output_fd, 2, 0) != 2) child_fail(plan, kStdio);
  // Everything else hookd holds (the cgroup files, the pipe's read end).
  ::syscall(SYS_close_range, 3, ~0u, 0);

  ::syscall(SYS_execve, plan->argv[0], plan->argv, plan->envp);
  child_fail(plan, kExec);
}

constexpr std::size_t kChildStack = 64 * 1024;

}  // namespace

Result<std::optional<HookIdentity>> resolve_hook_identity(const std::string& user,
                                                          const std::string& group) {
  if (user.empty() && group.empty()) return std::optional<HookIdentity>();
  HookIdentity id;
  id.user = user;
  id.group = group;
  std::vector<char> buffer(16384);
  if (!user.empty()) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    int rc = ::getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
      return make_error("--hook-user: no user \"" + user + "\"" +
                        (rc != 0 ? " (" + errno_text(rc) + ")" : std::string()));
    }
    id.uid = pw.pw_uid;
    id.gid = pw.pw_gid;
  }
  if (!group.empty()) {
    struct group gr {};
    struct group* found = nullptr;
    int rc = ::getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
      return make_error("--hook-group: no group \"" + group + "\"" +
                        (rc != 0 ? " (" + errno_text(rc) + ")" : std::string()));
    }
    id.gid = gr.gr_gid;
  }
  id.groups = {id.gid};
  if (!user.empty()) {
    int count = 64;
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    if (::getgrouplist(user.c_str(), id.gid, groups.data(), &count) < 0) {
      groups.resize(static_cast<std::size_t>(count));
      ::getgrouplist(user.c_str(), id.gid, groups.data(), &count);
    }
    groups.resize(static_cast<std::size_t>(std::max(count, 0)));
    if (!groups.empty()) id.groups = groups;
  }
  return std::optional<HookIdentity>(std::move(id));
}

Status join_cgroups(const ChildSetup& setup, pid_t pid) {
  std::string text = std::to_string(pid);
  for (const auto& path : setup.cgroup_procs) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int err = errno;
    if (fd >= 0) ::close(fd);
    if (!ok) return make_error(path + ": " + errno_text(err));
  }
  return Ok{};
}

Result<SpawnedWithSetup> spawn_with_setup(const SetupSpawn& spawn) {
  if (spawn.argv.empty()) return make_error("(no argv): " + errno_text(EINVAL));
  if (spawn.output_fd <= 2)
    return make_error("output descriptor " + std::to_string(spawn.output_fd));
  // dup3 of stdin onto 0 happens first: a stdin on 1 or 2 would be overwritten.
  if (spawn.stdin_fd == 1 || spawn.stdin_fd == 2)
    return make_error("stdin descriptor " + std::to_string(spawn.stdin_fd));
  std::vector<char*> argv, envp;
  for (const auto& a : spawn.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spawn.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<ResourceLimit> limits;
  for (const auto& l : spawn.setup.rlimits) {
    limits.push_back({l.resource, {static_cast<rlim_t>(l.value), static_cast<rlim_t>(l.value)}});
  }
  const auto& identity = spawn.setup.identity;

  Plan plan{};
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = spawn.cwd.empty() ? nullptr : spawn.cwd.c_str();
  plan.stdin_fd = spawn.stdin_fd;
  plan.output_fd = spawn.output_fd;
  plan.cgroup_fds = spawn.setup.cgroup_fds.data();
  plan.cgroup_count = spawn.setup.cgroup_fds.size();
  plan.limits = limits.data();
  plan.limit_count = limits.size();
  plan.subreaper = spawn.setup.child_subreaper;
  plan.no_new_privs = spawn.setup.no_new_privs;
  plan.set_groups = identity.has_value();
  plan.set_uid = identity && identity->uid.has_value();
  plan.uid = plan.set_uid ? *identity->uid : 0;
  plan.gid = identity ? identity->gid : 0;
  plan.groups = identity ? identity->groups.data() : nullptr;
  plan.group_count = identity ? identity->groups.size() : 0;

  std::unique_ptr<char[]> stack(new char[kChildStack]);
  auto top = reinterpret_cast<std::uintptr_t>(stack.get() + kChildStack) & ~std::uintptr_t(15);
  // Binds syscall() and errno's accessor now, so the child never enters the
  // dynamic linker.
  ::syscall(SYS_gettid);
  volatile int bound_errno = errno;
  (void)bound_errno;

  // No handler of hookd's may run in the child before it has reset them.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  pid_t pid = ::clone(child_main, reinterpret_cast<void*>(top),
                      CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan, &pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return make_error("clone: " + errno_text(clone_errno));

  if (plan.failed_step != kNone) {
    siginfo_t info{};
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED);
    ::close(pidfd);
    std::string what = plan.failed_step == kExec ? spawn.argv[0] : step_name(plan.failed_step);
    return make_error(what + ": " + errno_text(plan.failed_errno));
  }
  return SpawnedWithSetup{pid, pidfd};
}

}  // namespace hookd
