#include "hookd/hooks/orphan_reaper.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/text.h"
#include "hookd/hooks/cgroup_files.h"
#include "hookd/hooks/cgroup_layout.h"

namespace hookd {
namespace {

// Spawners share it, the reaper takes it alone. Writers first, so spawning
// at full rate cannot starve the reaper.
class SpawnLock {
 public:
  SpawnLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

struct Registry {
  SpawnLock spawn_lock;
  std::mutex mutex;
  std::unordered_map<pid_t, int> owned;  // pid -> how many owners (a pid may be reused)
};

// Never destroyed: children may be reaped while static destructors run.
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

struct ReaperMetrics {
  Counter& reaped = metrics().counter("hookd_hook_orphans_reaped_total",
                                      "Orphaned hook descendants reaped by hookd (the subreaper)");
  Counter& killed = metrics().counter(
      "hookd_hook_orphans_killed_total",
      "Orphaned hook descendants killed by hookd after their run ended (subreaper mode)");
};

ReaperMetrics& reaper_metrics() {
  static ReaperMetrics m;
  return m;
}

struct ReaperState {
  std::atomic<bool> enabled{false};
  int signal_fd = -1;
  int stop_fd = -1;
  std::thread thread;
};

ReaperState& reaper_state() {
  static auto* s = new ReaperState;
  return *s;
}

// Every child of this process: orphans are given to any of its threads.
std::vector<pid_t> list_children() {
  std::vector<pid_t> children;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return children;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string path = std::string("/proc/self/task/") + entry->d_name + "/children";
    auto text = read_cgroup_file(path).value_or("");  // a proc file reads the same way
    for (char& c : text) {
      if (c == ' ') c = '\n';
    }
    for (int pid : parse_pid_list(text))
      children.push_back(pid);
  }
  ::closedir(tasks);
  return children;
}

bool owned_locked(Registry& r, pid_t pid) {
  std::lock_guard lock(r.mutex);
  return r.owned.count(pid) != 0;
}

// Our unowned child `pid`, reaped if it has exited.
bool reap_if_exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) == 0 && info.si_pid != 0;
}

void reaper_loop(int signal_fd, int stop_fd) {
  pollfd fds[2] = {{signal_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  for (;;) {
    // A lost SIGCHLD (one sent to a thread that existed before enable())
    // costs at most this long.
    int rc = ::poll(fds, 2, 1000);
    if (rc < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    signalfd_siginfo info;
    while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    OrphanReaper::reap_strays();
  }
}

}  // namespace

OwnedChildren::SpawnGuard::SpawnGuard() {
  registry().spawn_lock.lock_shared();
}

OwnedChildren::SpawnGuard::~SpawnGuard() {
  registry().spawn_lock.unlock_shared();
}

void OwnedChildren::add(pid_t pid) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  ++r.owned[pid];
}

void OwnedChildren::remove(pid_t pid) {
  auto& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.owned.find(pid);
  if (it != r.owned.end() && --it->second <= 0) r.owned.erase(it);
}

bool OwnedChildren::owned(pid_t pid) {
  return owned_locked(registry(), pid);
}

Status OrphanReaper::enable() {
  auto& s = reaper_state();
  if (s.enabled) return Ok{};
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  // An inherited SIG_IGN would have the kernel reap every child, owners'
  // included, before anyone could read its status.
  ::signal(SIGCHLD, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &chld, nullptr);
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return make_error("PR_SET_CHILD_SUBREAPER: " + errno_text(errno));
  }
  s.signal_fd = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  s.stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (s.signal_fd < 0 || s.stop_fd < 0) return make_error("signalfd: " + errno_text(errno));
  reaper_metrics();
  s.enabled = true;
  s.thread = std::thread(reaper_loop, s.signal_fd, s.stop_fd);
  return Ok{};
}

bool OrphanReaper::enabled() {
  return reaper_state().enabled;
}

void OrphanReaper::stop() {
  auto& s = reaper_state();
  if (!s.thread.joinable()) return;
  std::uint64_t one = 1;
  if (::write(s.stop_fd, &one, sizeof one) < 0) return;
  s.thread.join();
}

std::size_t OrphanReaper::reap_strays() {
  if (!enabled()) return 0;
  auto& r = registry();
  std::size_t reaped = 0;
  r.spawn_lock.lock();
  for (pid_t pid : list_children()) {
    if (!owned_locked(r, pid) && reap_if_exited(pid)) ++reaped;
  }
  r.spawn_lock.unlock();
  if (reaped > 0) reaper_metrics().reaped.inc(static_cast<double>(reaped));
  return reaped;
}

std::size_t OrphanReaper::kill_strays(std::chrono::milliseconds within) {
  if (!enabled()) return 0;
  auto& r = registry();
  auto deadline = std::chrono::steady_clock::now() + within;
  std::set<pid_t> dying;  // signalled, not reaped: still our children, so never a reused pid
  std::size_t killed = 0, reaped = 0;
  for (;;) {
    bool any = false;
    r.spawn_lock.lock();
    for (pid_t pid : list_children()) {
      if (owned_locked(r, pid)) continue;
      any = true;
      if (reap_if_exited(pid)) {
        ++reaped;
        dying.erase(pid);
      } else if (dying.insert(pid).second) {
        ::kill(pid, SIGKILL);
        ++killed;
      }
    }
    r.spawn_lock.unlock();
    if (!any || std::chrono::steady_clock::now() >= deadline) break;
    // Those just killed exit, and their own children come back to us.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto& m = reaper_metrics();
  if (reaped > 0) m.reaped.inc(static_cast<double>(reaped));
  if (killed > 0) m.killed.inc(static_cast<double>(killed));
  if (!dying.empty()) {
    log::warn("killed hook descendants not reaped yet", {{"count", dying.size()}});
  }
  return killed;
}

}  // namespace hookd
