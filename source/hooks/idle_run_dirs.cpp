#include "hookd/hooks/idle_run_dirs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hookd {
namespace {

// Whether the open directory has entries besides "." and "..".
bool has_entries(int fd) {
  alignas(8) char buffer[1024];
  for (;;) {
    long n = ::syscall(SYS_getdents64, fd, buffer, sizeof buffer);
    if (n < 0) return true;  // cannot tell: treated as not empty
    if (n == 0) return false;
    for (long at = 0; at < n;) {
      // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name
      unsigned short reclen;
      std::memcpy(&reclen, buffer + at + 16, sizeof reclen);
      const char* name = buffer + at + 19;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) return true;
      at += reclen;
    }
  }
}

}  // namespace

bool reset_run_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool clean = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && !has_entries(fd);
  if (clean) {
    // No extended attributes: an ACL or a note left for the next run.
    ssize_t names = ::flistxattr(fd, nullptr, 0);
    clean = names == 0 || (names < 0 && errno == ENOTSUP);
  }
  if (clean && (st.st_uid != ::geteuid() || st.st_gid != ::getegid())) {
    clean = ::fchown(fd, ::geteuid(), ::getegid()) == 0;
  }
  if (clean && (st.st_mode & 07777) != 0700) clean = ::fchmod(fd, 0700) == 0;
  ::close(fd);
  return clean;
}

IdleRunDirs::~IdleRunDirs() {
  for (const auto& dir : idle_)
    ::rmdir(dir.c_str());
}

std::optional<std::filesystem::path> IdleRunDirs::take() {
  std::lock_guard lock(mutex_);
  if (idle_.empty()) return std::nullopt;
  auto dir = std::move(idle_.back());
  idle_.pop_back();
  return dir;
}

bool IdleRunDirs::give_back(const std::filesystem::path& dir) {
  {
    std::lock_guard lock(mutex_);
    if (idle_.size() >= max_idle_) return false;
  }
  if (!reset_run_dir(dir)) return false;
  std::lock_guard lock(mutex_);
  if (idle_.size() >= max_idle_) return false;
  idle_.push_back(dir);
  return true;
}

}  // namespace hookd
