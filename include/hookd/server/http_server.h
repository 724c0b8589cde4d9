// HttpServer: HTTP/1.1 (and HTTPS) over Beast, one acceptor per reactor
// (SO_REUSEPORT), keep-alive and pipelining, read timeouts and size limits.
// Routes are plain functions of HttpRequest, so handlers never see Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

class Reactor;

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path + query
  std::string path;                                          // decoded path, no query
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::map<std::string, std::string> params;  // from "{name}" route segments

  // First header with this (case-insensitive) name, or "".
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse json(int status, std::string body);
  // {"error": message}
  static HttpResponse error(int status, std::string_view message);
};

// May be called from any thread, exactly once.
using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest&, Responder)>;

// Routes by method and path pattern: "/v1/events/{id}" matches one segment
// per "{name}". Unknown paths get 404; known paths with another method 405.
// HEAD goes to the GET route of a path unless a HEAD route is added.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // Fills request.params and calls the handler, or answers 404/405.
  void dispatch(HttpRequest& request, Responder respond) const;
  // The pattern dispatch() would route this method and path to (also when
  // only the method differs, the 405 case), or "" when no pattern matches.
  // A bounded metric label, unlike the raw path.
  std::string match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  // The route for exactly this method, else GET's for HEAD; null if none.
  const Route* find(std::string_view method, std::string_view path) const;

  std::vector<Route> routes_;
};

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
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
