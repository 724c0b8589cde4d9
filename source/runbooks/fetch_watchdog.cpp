#include "hookd/runbooks/fetch_watchdog.h"

#include "hookd/runbooks/fetch_control.h"

namespace hookd {

FetchWatchdog::FetchWatchdog(FetchControl& control)
    : control_(control), thread_([this] { run(); }) {}

FetchWatchdog::~FetchWatchdog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  thread_.join();
}

void FetchWatchdog::arm(FetchDeadline deadline) {
  std::lock_guard lock(mutex_);
  armed_ = deadline;
  wake_.notify_all();
}

void FetchWatchdog::disarm() {
  std::lock_guard lock(mutex_);
  armed_.reset();
  wake_.notify_all();
}

void FetchWatchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!armed_ || armed_->at() == FetchDeadline::Clock::time_point::max()) {
      wake_.wait(lock);
      continue;
    }
    FetchDeadline until = *armed_;
    wake_.wait_until(lock, until.at());
    // Woken early, disarmed or armed again: look again.
    if (armed_ == until && until.expired(FetchDeadline::Clock::now())) {
      armed_.reset();
      control_.cancel_timeout();
    }
  }
}

}  // namespace hookd
