// The cancel switch of the fetch in progress. libgit2 1.5 has no network
// timeouts (GIT_OPT_SET_SERVER_TIMEOUT arrived in 1.7) and its callbacks only
// run while data flows, so a server that accepts and then says nothing would
// hold the worker forever. cancel() therefore wakes every socket wait (an
// eventfd that socket_stream polls with the socket) and shutdown()s every
// socket of the fetch, which also wakes libssh2's own poll with an EOF.
// Thread-safe: the worker fetches, the watchdog and stop() cancel.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "hookd/runbooks/fetch_deadline.h"

namespace hookd {

class FetchControl {
 public:
  FetchControl();
  ~FetchControl();
  FetchControl(const FetchControl&) = delete;
  FetchControl& operator=(const FetchControl&) = delete;

  // Before each fetch: not cancelled, and `timeout_reason` is what a cancel
  // at `deadline` will say.
  void reset(FetchDeadline deadline, std::string timeout_reason);
  // The first cancel of a fetch wins; later ones change nothing.
  void cancel(std::string reason, bool timed_out = false);
  void cancel_timeout() { cancel(timeout_reason(), true); }
  // For libgit2 callbacks: true once cancelled, or (cancelling) past the deadline.
  bool should_stop();

  bool cancelled() const { return cancelled_.load(); }
  bool timed_out() const;
  std::string reason() const;
  std::string timeout_reason() const;
  FetchDeadline deadline() const;
  // Readable once cancelled, until the next reset().
  int wake_fd() const { return wake_fd_; }

  // Sockets are registered so cancel() can cut them; false if already cancelled.
  bool add_socket(int fd);
  // Closing under the lock keeps cancel() from shutting down a reused descriptor.
  void close_socket(int fd);

 private:
  mutable std::mutex mutex_;
  std::atomic<bool> cancelled_{false};
  bool timed_out_ = false;
  std::string reason_;
  std::string timeout_reason_ = "fetch timed out";
  FetchDeadline deadline_;
  std::vector<int> fds_;
  int wake_fd_;
};

}  // namespace hookd
