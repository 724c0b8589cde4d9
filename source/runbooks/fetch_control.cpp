#include "hookd/runbooks/fetch_control.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace hookd {

FetchControl::FetchControl() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

FetchControl::~FetchControl() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void FetchControl::reset(FetchDeadline deadline, std::string timeout_reason) {
  std::lock_guard lock(mutex_);
  cancelled_.store(false);
  timed_out_ = false;
  reason_.clear();
  timeout_reason_ = std::move(timeout_reason);
  deadline_ = deadline;
  std::uint64_t drained;
  while (::read(wake_fd_, &drained, sizeof drained) > 0) {
  }
}

void FetchControl::cancel(std::string reason, bool timed_out) {
  std::lock_guard lock(mutex_);
  if (cancelled_.load()) return;
  reason_ = std::move(reason);
  timed_out_ = timed_out;
  cancelled_.store(true);
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  for (int fd : fds_)
    ::shutdown(fd, SHUT_RDWR);
}

bool FetchControl::should_stop() {
  if (cancelled_.load()) return true;
  if (deadline().expired(FetchDeadline::Clock::now())) {
    cancel_timeout();
    return true;
  }
  return false;
}

bool FetchControl::timed_out() const {
  std::lock_guard lock(mutex_);
  return timed_out_;
}

std::string FetchControl::reason() const {
  std::lock_guard lock(mutex_);
  return reason_;
}

std::string FetchControl::timeout_reason() const {
  std::lock_guard lock(mutex_);
  return timeout_reason_;
}

FetchDeadline FetchControl::deadline() const {
  std::lock_guard lock(mutex_);
  return deadline_;
}

bool FetchControl::add_socket(int fd) {
  std::lock_guard lock(mutex_);
  if (cancelled_.load()) return false;
  fds_.push_back(fd);
  return true;
}

void FetchControl::close_socket(int fd) {
  std::lock_guard lock(mutex_);
  fds_.erase(std::remove(fds_.begin(), fds_.end(), fd), fds_.end());
  ::close(fd);
}

}  // namespace hookd
