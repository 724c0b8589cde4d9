// A real redis-server as a child process of a test: its own free port on
// 127.0.0.1 and its own temporary directory, AOF on with appendfsync always
// (so a kill -9 loses nothing acknowledged). Stopped on destruction.
// Not thread-safe.
#pragma once

#include <string>

#include "support/support.h"

namespace hookd::test {

class RedisServer {
 public:
  // Whether redis-server and redis-cli are installed (else tests skip).
  static bool available();

  // Throws std::runtime_error when it does not come up.
  RedisServer();

  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  void kill9();
  // Starts again on the same port and directory (the AOF is replayed).
  void start();

  // redis-cli -p port <args>; its output, trailing newlines removed.
  std::string cli(const std::string& args) const;
  std::string log() const;

 private:
  TempDir dir_;
  unsigned short port_ = 0;
  ChildProcess process_;
};

}  // namespace hookd::test
