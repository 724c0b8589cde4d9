// A real redis-server as a child process of a test: its own free port on
// 127.0.0.1 and its own temporary directory, AOF on with appendfsync always
// (so a kill -9 loses nothing acknowledged). With TLS files it listens on
// a TLS port only (--port 0, clients unauthenticated by certificate).
// Stopped on destruction. Not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "support/support.h"

namespace hookd::test {

struct RedisTlsFiles {
  std::filesystem::path cert;  // the server's certificate (PEM)
  std::filesystem::path key;
  std::filesystem::path ca;  // what redis-cli verifies the server against
};

class RedisServer {
 public:
  // Whether redis-server and redis-cli are installed (else tests skip).
  static bool available();

  // Throws std::runtime_error when it does not come up.
  explicit RedisServer(std::optional<RedisTlsFiles> tls = std::nullopt);

  unsigned short port() const { return port_; }
  // redis:// or, with TLS, rediss://
  std::string url() const;

  void kill9();
  // Starts again on the same port and directory (the AOF is replayed).
  void start();

  // redis-cli -p port <args>; its output, trailing newlines removed.
  std::string cli(const std::string& args) const;
  std::string log() const;

 private:
  TempDir dir_;
  std::optional<RedisTlsFiles> tls_;
  unsigned short port_ = 0;
  ChildProcess process_;
};

}  // namespace hookd::test
