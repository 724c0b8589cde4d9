// RedisTlsBridge: TLS to Redis (rediss://) for a hiredis that has none
// (Debian's 0.14.1). hiredis connects in plaintext to a Unix socket in a
// private directory; each connection accepted there is carried to the Redis
// server over TLS, the server's certificate checked against the CA bundle
// (or the system's CAs) and the URL's host name or IP. It runs on an
// io_context and thread of its own, so a blocking hiredis call on any other
// thread (the API store's) can always be answered. Thread-safe.
//
// Why a socket path in a 0700 directory rather than an abstract socket: an
// abstract socket has no permissions, so any local process could speak to
// Redis through hookd's TLS session; the directory admits hookd's user
// only, and each peer's uid is checked as well.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "hookd/core/result.h"
#include "hookd/queue/redis_url.h"

namespace hookd {

struct RedisTlsOptions {
  std::string ca_file;               // PEM bundle; empty: the system's CAs
  std::filesystem::path socket_dir;  // created 0700; holds redis.sock
  // Connect + handshake. Below RedisConnection's 3 s connect limit, so that
  // the bridge's reason (not hiredis' "no answer") is what /readyz shows.
  std::chrono::milliseconds connect_timeout{2500};
  std::chrono::milliseconds write_timeout{5000};  // one write to either side
};

// sun_path holds 108 bytes with the terminating NUL.
constexpr std::size_t kMaxUnixSocketPath = 107;

class RedisTlsBridge {
 public:
  // Loads the CA bundle and listens; the error says which (a bad --queue-ca,
  // a socket path too long, a directory that cannot be made).
  static Result<std::shared_ptr<RedisTlsBridge>> open(const RedisUrl& url, RedisTlsOptions options);
  ~RedisTlsBridge();
  RedisTlsBridge(const RedisTlsBridge&) = delete;
  RedisTlsBridge& operator=(const RedisTlsBridge&) = delete;

  // Where hiredis connects instead of the server.
  const std::string& socket_path() const;

  // Why the last connection to the server failed (connect, handshake,
  // certificate, the server closing it), unless one succeeded since; empty
  // otherwise. Callers add it to hiredis' reason, which only sees the local
  // socket close.
  std::string problem() const;

  struct State;

 private:
  explicit RedisTlsBridge(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// <socket_dir>/redis.sock
std::filesystem::path redis_tls_socket_path(const std::filesystem::path& socket_dir);

// Whether the bridge could start with these options, without starting it:
// the CA bundle loads and the socket path fits. For the start-up checks.
Status check_redis_tls_options(const RedisTlsOptions& options);

}  // namespace hookd
