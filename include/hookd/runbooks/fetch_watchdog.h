// A thread that cancels the armed fetch when its deadline passes. The socket
// stream's waits and libgit2's callbacks check the deadline themselves, but
// libssh2 polls the socket on its own: only a cancel from outside (which
// shuts the sockets down) ends a silent SSH fetch on time.
// Thread-safe: arm() and disarm() from the fetching thread, the destructor
// from any other.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "hookd/runbooks/fetch_deadline.h"

namespace hookd {

class FetchControl;

class FetchWatchdog {
 public:
  // Starts the thread; `control` must outlive the watchdog.
  explicit FetchWatchdog(FetchControl& control);
  // Stops and joins the thread; an armed fetch is not cancelled.
  ~FetchWatchdog();
  FetchWatchdog(const FetchWatchdog&) = delete;
  FetchWatchdog& operator=(const FetchWatchdog&) = delete;

  // Cancels `control` (as a timeout) once `deadline` passes, unless disarmed
  // or armed again first.
  void arm(FetchDeadline deadline);
  void disarm();

 private:
  void run();

  FetchControl& control_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<FetchDeadline> armed_;
  std::thread thread_;
};

}  // namespace hookd
