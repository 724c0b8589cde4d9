// HttpServer: HTTP/1.1 (and HTTPS) over Beast, one acceptor per reactor
// (SO_REUSEPORT), keep-alive and pipelining, read timeouts and size limits.
// Routes are plain functions of HttpRequest (router.h), so handlers never
// see Beast. start() and port() belong to the thread that owns the server;
// drain() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "hookd/core/result.h"
#include "hookd/server/http_message.h"
#include "hookd/server/router.h"

namespace hookd {

class Reactor;
class HttpListener;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";          // host:port, [v6]:port; port 0 picks one
  std::size_t max_body_bytes = 1 << 20;           // 413 beyond
  std::size_t max_header_bytes = 16 << 10;        // 431 beyond
  std::chrono::milliseconds read_timeout{10000};  // whole request, headers+body
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive between requests
  std::size_t max_connections = 10000;            // per process; beyond: refused
  std::string tls_cert_file;                      // both set: HTTPS
  std::string tls_key_file;
};

class HttpServer {
 public:
  HttpServer(Reactor& reactor, HttpServerOptions options, Router router);
  ~HttpServer();

  // Binds one acceptor per reactor on the same port and starts accepting.
  Status start();
  unsigned short port() const;

  // Stops accepting; in-flight requests finish, idle keep-alive connections
  // close. `done` runs (on some reactor) when no connection is left.
  void drain(std::function<void()> done);

 private:
  std::shared_ptr<HttpListener> listener_;
};

}  // namespace hookd
