#include "hookd/core/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace hookd {

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(std::strerror(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

bool fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

Status append_durable(const std::filesystem::path& file, std::string_view data) {
  std::error_code ec;
  bool existed = std::filesystem::exists(file, ec);
  int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return make_error("open " + file.string() + ": " + std::strerror(errno));
  Status st = write_all(fd, data);
  if (st && ::fdatasync(fd) != 0)
    st = make_error(std::string("fdatasync: ") + std::strerror(errno));
  ::close(fd);
  if (!st) return make_error("append " + file.string() + ": " + st.error().message);
  if (!existed) fsync_dir(file.parent_path());
  return Ok{};
}

// Write to a temporary file, fsync, rename over the target: readers see the
// old or the new content, never a mix.
Status write_atomic(const std::filesystem::path& file, std::string_view data,
                    std::filesystem::perms permissions) {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  // A read-only leftover (0444 script copies) could not be opened for writing.
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  static_cast<mode_t>(permissions));
  if (fd < 0) return make_error("open " + tmp.string() + ": " + std::strerror(errno));
  Status st = write_all(fd, data);
  if (st && ::fsync(fd) != 0) st = make_error(std::string("fsync: ") + std::strerror(errno));
  ::close(fd);
  if (!st) {
    ::unlink(tmp.c_str());
    return make_error("write " + tmp.string() + ": " + st.error().message);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    std::string error = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error("rename " + tmp.string() + ": " + error);
  }
  fsync_dir(file.parent_path());
  return Ok{};
}

std::optional<std::string> read_whole_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace hookd
