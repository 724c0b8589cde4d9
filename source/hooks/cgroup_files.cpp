#include "hookd/hooks/cgroup_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <system_error>
#include <thread>

#include "hookd/core/text.h"
#include "hookd/hooks/cgroup_layout.h"

namespace hookd {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The cgroup and its sub-cgroups, parents before children.
std::vector<fs::path> subtree(const fs::path& dir) {
  std::vector<fs::path> dirs{dir};
  // A cgroup directory's link count is 2 plus its sub-cgroups (kernfs): a
  // run's usually has none, and one stat is cheaper than reading it.
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 2) return dirs;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) dirs.push_back(it->path());
  }
  return dirs;
}

std::vector<int> subtree_processes(const fs::path& dir) {
  std::vector<int> pids;
  for (const auto& d : subtree(dir)) {
    for (int pid : cgroup_processes(d))
      pids.push_back(pid);
  }
  return pids;
}

bool populated(const fs::path& dir, bool v2) {
  if (v2) {
    if (auto events = read_cgroup_file(dir / "cgroup.events")) {
      if (auto value = cgroup_counter(*events, "populated")) return *value != 0;
    }
  }
  return !subtree_processes(dir).empty();
}

// Until `done` holds or `deadline`, sleeping a little longer each time.
template <typename Done>
bool wait_for(Done done, Clock::time_point deadline) {
  auto pause = std::chrono::microseconds(100);
  while (!done()) {
    if (Clock::now() >= deadline) return done();
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
  }
  return true;
}

// Kills what is listed until nothing is (no freezer: each round catches
// what the last one's processes forked).
std::size_t kill_listed(const fs::path& dir, bool v2, Clock::time_point deadline) {
  std::set<int> killed;
  wait_for(
      [&] {
        auto pids = subtree_processes(dir);
        for (int pid : pids) {
          ::kill(pid, SIGKILL);
          killed.insert(pid);
        }
        return pids.empty() && !populated(dir, v2);
      },
      deadline);
  return killed.size();
}

// `seen_empty`: it ended because the subtree had no process left.
std::size_t kill_frozen_v1(const fs::path& dir, Clock::time_point deadline, bool& seen_empty) {
  std::set<int> killed;
  auto state = dir / "freezer.state";
  while (Clock::now() < deadline) {
    if (subtree_processes(dir).empty()) {
      seen_empty = true;
      break;
    }
    if (!write_cgroup_file(state, "FROZEN"))
      return killed.size() + kill_listed(dir, false, deadline);
    // A bounded wait: a task stuck in the kernel may keep it FREEZING; it
    // still gets the SIGKILL, once thawed.
    wait_for(
        [&] {
          auto text = read_cgroup_file(state);
          return !text || text->starts_with("FROZEN");
        },
        std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
    for (int pid : subtree_processes(dir)) {
      ::kill(pid, SIGKILL);
      killed.insert(pid);
    }
    // Killed but frozen, they cannot die: the caller reports them.
    if (!write_cgroup_file(state, "THAWED")) break;
    wait_for([&] { return subtree_processes(dir).empty(); },
             std::min(deadline, Clock::now() + std::chrono::milliseconds(500)));
  }
  return killed.size();
}

}  // namespace

std::optional<std::string> read_cgroup_file(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  return text;
}

std::optional<std::string> reread_cgroup_file(int fd) {
  std::string text;
  char buffer[4096];
  ssize_t n;
  off_t at = 0;
  // A flat cgroup file is one record of its seq_file, handed out whole when
  // it fits: a short read is its end, without a read more to see 0.
  while ((n = ::pread(fd, buffer, sizeof buffer, at)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
    at += n;
    if (static_cast<std::size_t>(n) < sizeof buffer) break;
  }
  if (n < 0) return std::nullopt;
  return text;
}

Status write_cgroup_file(const fs::path& file, std::string_view value) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return make_error(file.string() + ": " + errno_text(errno));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return make_error(file.string() + " <- " + std::string(value) + ": " + errno_text(err));
  }
  return Ok{};
}

std::vector<int> cgroup_processes(const fs::path& dir) {
  auto text = read_cgroup_file(dir / "cgroup.procs");
  return text ? parse_pid_list(*text) : std::vector<int>();
}

Result<std::size_t> kill_cgroup(const fs::path& dir, bool v2, std::chrono::milliseconds within) {
  auto deadline = Clock::now() + within;
  std::size_t killed = 0;
  if (v2) {
    auto alive = subtree_processes(dir);
    if (write_cgroup_file(dir / "cgroup.kill", "1")) {
      killed = alive.size();
      wait_for([&] { return !populated(dir, true); }, deadline);
    } else {
      killed = kill_listed(dir, true, deadline);  // before Linux 5.14
    }
  } else {
    bool seen_empty = false;
    killed = kill_frozen_v1(dir, deadline, seen_empty);
    if (seen_empty) return killed;  // what populated() would read again at once
  }
  if (populated(dir, v2)) {
    return make_error(dir.string() + ": processes left after " + std::to_string(within.count()) +
                      " ms");
  }
  return killed;
}

Result<std::size_t> kill_and_remove_cgroup(const fs::path& dir, bool v2, bool freezer,
                                           std::chrono::milliseconds within) {
  std::error_code exists_ec;
  if (!fs::exists(dir, exists_ec)) return std::size_t{0};
  std::size_t killed = 0;
  if (v2 || freezer) {
    auto k = kill_cgroup(dir, v2, within);
    if (!k) return k;
    killed = *k;
  } else {
    killed = kill_listed(dir, false, Clock::now() + within);
  }
  auto dirs = subtree(dir);
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    if (::rmdir(it->c_str()) != 0 && errno != ENOENT) {
      return make_error("rmdir " + it->string() + ": " + errno_text(errno));
    }
  }
  return killed;
}

}  // namespace hookd
