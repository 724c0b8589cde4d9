// HttpRequest and HttpResponse: the request a route handler gets and the
// answer it gives, as plain values, so that handlers never see Beast.
// Value types; not synchronised.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookd {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // as sent: path + query
  std::string path;                                          // decoded path, no query
  std::string query;                                         // raw query string, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  // From "{name}" route segments; the router overwrites them in place
  // from one request to the next on a connection.
  std::map<std::string, std::string> params;
  // Kept from one request to the next on the same connection, never read or
  // reset by the server: what a route remembers about the connection (the
  // Svix API: the Authorization value it accepted as a static token).
  std::string connection_memo;
  // The router's: the route the last request on this connection took (a
  // connection mostly repeats one kind of request), so that a repeat skips
  // the lookup. Never read by handlers.
  struct RouteMemo {
    const void* router = nullptr;
    std::size_t routes = 0;  // the router's route count then: any add() invalidates
    const void* route = nullptr;
    std::string method;
    std::string path;
    std::map<std::string, std::string> params;  // as the route filled them
  };
  RouteMemo route_memo;

  // First header with this (case-insensitive) name, or "".
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  // Static storage only (a literal): a view, so making, moving and copying
  // an answer allocates nothing for it ("application/json" is one byte past
  // std::string's in-place capacity). Empty: no Content-Type.
  std::string_view content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static HttpResponse json(int status, std::string body);
  // {"error": message}; bytes of `message` that are not UTF-8 become U+FFFD.
  static HttpResponse error(int status, std::string_view message);
};

// May be called from any thread, exactly once.
using Responder = std::function<void(HttpResponse)>;

}  // namespace hookd
