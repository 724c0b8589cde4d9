// A service manager's notify socket for tests: an AF_UNIX datagram socket
// bound to a path, or to an abstract name written with a leading '@', as
// systemd binds its own. Not thread-safe.
#pragma once

#include <string>

namespace hookd::test {

class NotifySocket {
 public:
  // Throws std::runtime_error when the socket cannot be bound.
  explicit NotifySocket(const std::string& name);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram, or "" after 10 s (a test that waits longer has failed).
  std::string receive();
  // The next datagram that is not a WATCHDOG=1 keep-alive.
  std::string receive_state();

 private:
  int fd_ = -1;
};

}  // namespace hookd::test
