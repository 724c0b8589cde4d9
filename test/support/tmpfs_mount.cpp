#include "support/tmpfs_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace hookd::test {

TmpfsMount::TmpfsMount(std::filesystem::path dir, std::uint64_t bytes) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    error_ = "cannot create " + dir_.string() + ": " + ec.message();
    return;
  }
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    error_ = std::string("mount -t tmpfs needs root (CAP_SYS_ADMIN): ") + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  if (!mounted_) return;
  if (::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
}

std::uint64_t TmpfsMount::free_bytes() const {
  struct statvfs st {};
  if (::statvfs(dir_.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

bool write_filler(const std::filesystem::path& file, std::uint64_t bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const std::vector<char> block(64 * 1024, 'f');
  bool ok = true;
  while (bytes > 0 && ok) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, block.size()));
    const ssize_t written = ::write(fd, block.data(), n);
    ok = written == static_cast<ssize_t>(n);
    if (ok) bytes -= n;
  }
  ::close(fd);
  return ok;
}

}  // namespace hookd::test
