// Router: routes requests by method and path pattern to plain handler
// functions. Built before the server starts; dispatch() and match() are
// const and safe to call from every reactor thread at once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/server/http_message.h"

namespace hookd {

using Handler = std::function<void(HttpRequest&, Responder)>;

// Asked before a route's handler runs, with the matched route's method and
// pattern: an answer it returns is sent instead and the handler never runs.
// Called on every reactor thread at once: must not block or mutate.
using RouteGate = std::function<std::optional<HttpResponse>(
    const HttpRequest& request, std::string_view method, std::string_view pattern)>;

// Patterns match one segment per "{name}": "/v1/events/{id}". Unknown paths
// get 404; known paths with another method 405. HEAD goes to the GET route
// of a path unless a HEAD route is added.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // Paths starting with `prefix` that match no route go to `handler`
  // instead of the plain 404: an API under a prefix (the Svix API under
  // /api/v1/) answers in its own error shape.
  void add_not_found(std::string prefix, Handler handler);
  // One gate for every route (see RouteGate); replaces any earlier one.
  void set_gate(RouteGate gate);
  // A router with the routes `keep` accepts, in the same order, and the
  // same gate: one listener's share of the routes.
  Router only(
      const std::function<bool(std::string_view method, std::string_view pattern)>& keep) const;
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
  std::vector<std::pair<std::string, Handler>> not_found_;  // prefix, handler
  RouteGate gate_;
};

}  // namespace hookd
