#include "hookd/journal/segment_spare.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hookd/core/log.h"
#include "hookd/journal/segment.h"

namespace hookd::journal_detail {

SegmentSpare::SegmentSpare(std::filesystem::path dir, std::uint64_t bytes, bool preallocate,
                           bool sync)
    : dir_(std::move(dir)),
      path_(dir_ / "next-segment.tmp"),
      bytes_(bytes),
      preallocate_(preallocate),
      sync_(sync),
      thread_([this] { run(); }) {}

SegmentSpare::~SegmentSpare() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (ready_) {
    ::close(ready_->fd);
    ::unlink(ready_->path.c_str());
  }
}

void SegmentSpare::request() {
  {
    std::lock_guard lock(mu_);
    if (wanted_ || ready_ || failed_) return;
    wanted_ = true;
  }
  wake_.notify_one();
}

std::optional<SegmentSpare::File> SegmentSpare::take() {
  std::lock_guard lock(mu_);
  std::optional<File> file = std::move(ready_);
  ready_.reset();
  failed_ = false;  // a roll: the next segment may ask again
  return file;
}

void SegmentSpare::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || wanted_; });
    if (stopping_) return;
    lock.unlock();
    std::optional<File> file = prepare();
    lock.lock();
    wanted_ = false;
    failed_ = !file;
    ready_ = std::move(file);
  }
}

std::optional<SegmentSpare::File> SegmentSpare::prepare() {
  File file;
  file.path = path_;
  file.fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file.fd < 0) {
    log::warn("journal: cannot create the spare segment",
              {{"path", path_.string()}, {"error", std::strerror(errno)}});
    return std::nullopt;
  }
  const char* failed = nullptr;
  int error_number = 0;
  if (preallocate_) {
    const int e = preallocate_file(file.fd, bytes_);
    if (e == 0) {
      file.preallocated = true;
    } else if (e != EOPNOTSUPP) {
      failed = "allocate";
      error_number = e;
    }
  }
  // fsync, not fdatasync: the size and the reserved extents are what a
  // group commit's fdatasync would otherwise have to commit.
  if (!failed && sync_ && ::fsync(file.fd) != 0) {
    failed = "sync";
    error_number = errno;
  }
  if (failed) {
    // Usually a full disk: the roll that finds no spare reports it properly.
    log::info("journal: cannot prepare the spare segment",
              {{"op", failed}, {"path", path_.string()}, {"error", std::strerror(error_number)}});
    ::close(file.fd);
    ::unlink(path_.c_str());
    return std::nullopt;
  }
  return file;
}

}  // namespace hookd::journal_detail
