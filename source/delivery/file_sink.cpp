#include "hookd/delivery/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hookd/core/durable_file.h"

namespace hookd {

namespace {

std::filesystem::path numbered(const std::filesystem::path& path, std::size_t n) {
  std::filesystem::path p = path;
  p += "." + std::to_string(n);
  return p;
}

Error file_error(const std::string& what, const std::filesystem::path& path) {
  return Error{"file: " + what + " " + path.string() + ": " + std::strerror(errno)};
}

// The length of `fd`'s first `size` bytes up to and including their last
// newline (0 when there is none), or -1 when the file cannot be read.
off_t complete_lines_end(int fd, std::uint64_t size) {
  char chunk[4096];
  auto end = static_cast<off_t>(size);
  while (end > 0) {
    const off_t start = end > static_cast<off_t>(sizeof chunk) ? end - sizeof chunk : 0;
    const ssize_t got = ::pread(fd, chunk, static_cast<std::size_t>(end - start), start);
    if (got != end - start) return -1;
    for (ssize_t i = got; i > 0; --i) {
      if (chunk[i - 1] == '\n') return start + i;
    }
    end = start;
  }
  return 0;
}

}  // namespace

bool rotation_due(std::uint64_t current_size, std::uint64_t incoming, std::uint64_t max_bytes) {
  if (max_bytes == 0 || current_size == 0) return false;
  return current_size + incoming > max_bytes;
}

std::vector<std::pair<std::filesystem::path, std::filesystem::path>> rotation_renames(
    const std::filesystem::path& path, std::size_t keep) {
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> out;
  if (keep == 0) return out;
  for (std::size_t i = keep - 1; i >= 1; --i)
    out.emplace_back(numbered(path, i), numbered(path, i + 1));
  out.emplace_back(path, numbered(path, 1));
  return out;
}

FileSink::FileSink(std::filesystem::path path, std::uint64_t max_bytes, std::size_t keep)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(keep) {}

FileSink::~FileSink() {
  close();
}

Status FileSink::open() {
  if (fd_ >= 0) return Ok{};
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec) return Error{"file: cannot create " + path_.parent_path().string() + ": " + ec.message()};
  bool created = false;
  // O_RDWR, not O_WRONLY: open() reads the tail back (below).
  int fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // 0600: events carry user emails, queries and their output.
    fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    created = fd >= 0;
    if (fd < 0 && errno == EEXIST) fd = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return file_error("cannot open", path_);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{"file: " + path_.string() + " is not a regular file"};
  }
  if (created && !fsync_dir(path_.parent_path())) {
    ::close(fd);
    return file_error("cannot sync the directory of", path_);
  }
  // A kill -9 in the middle of a batch's write leaves half a line at the
  // end. That batch was never acknowledged (its cursor did not move), so it
  // comes again; appending after the half line would glue the two into one
  // line no NDJSON reader can parse. Cut the file back to its last newline.
  const off_t whole = complete_lines_end(fd, static_cast<std::uint64_t>(st.st_size));
  if (whole < 0 || (whole != st.st_size && (::ftruncate(fd, whole) != 0 || ::fdatasync(fd) != 0))) {
    const int error_number = errno;
    ::close(fd);
    errno = error_number;
    return file_error("cannot repair the torn tail of", path_);
  }
  fd_ = fd;
  size_ = static_cast<std::uint64_t>(whole);
  return Ok{};
}

Status FileSink::rotate() {
  close();
  for (const auto& [from, to] : rotation_renames(path_, keep_)) {
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return file_error("cannot rotate", from);
    }
  }
  if (keep_ == 0 && ::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return file_error("cannot rotate", path_);
  }
  return open();  // syncs the directory: the renames and the new file together
}

Status FileSink::append(std::string_view lines) {
  if (Status st = open(); !st) return st;
  if (rotation_due(size_, lines.size(), max_bytes_)) {
    if (Status st = rotate(); !st) return st;
  }
  Status written = write_all(fd_, lines);
  if (written && ::fdatasync(fd_) != 0) {
    written = Error{"file: fdatasync " + path_.string() + ": " + std::strerror(errno)};
  } else if (!written) {
    written = Error{"file: write " + path_.string() + ": " + written.error().message};
  }
  if (!written) {
    // Cut the torn batch off; if even that fails, open again next time.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) close();
    return written;
  }
  size_ += lines.size();
  return Ok{};
}

void FileSink::reopen() {
  close();
}

void FileSink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
}

}  // namespace hookd
