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
  // Fills request.params and calls the handler, or answers 404/405. Sets
  // `*pattern` (when given) to what match() gives for the request, before
  // anything runs: one route lookup per request instead of two.
  void dispatch(HttpRequest& request, Responder respond, std::string_view* pattern = nullptr) const;
  // The pattern dispatch() would route this method and path to (also when
  // only the method differs, the 405 case), or "" when no pattern matches.
  // A bounded metric label, unlike the raw path; it lives as long as the
  // router.
  std::string_view match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    std::vector<std::string> params;  // the "{name}" segments' names
    Handler handler;
  };
  // One step of the patterns' segment tree: a path reaches a node by
  // matching its segments one by one, so a lookup looks only at the
  // patterns that share its start instead of trying every route.
  struct Node {
    std::vector<std::pair<std::string, std::size_t>> literals;  // segment, child
    std::size_t param = 0;                                      // "{name}" child; 0: none
    std::vector<std::size_t> routes;  // the routes whose pattern ends here
  };
  // The route for exactly this method, else GET's for HEAD; null if none.
  const Route* find(std::string_view method, std::string_view path) const;
  // find() for the request, or the route its connection's last request took
  // when the method and path are the same (request.route_memo; `*repeat`
  // tells which).
  const Route* find_remembered(HttpRequest& request, bool* repeat) const;
  // Calls `visit(index)` for every route whose pattern matches `path`, in
  // no particular order.
  template <typename Visit>
  void visit_matches(std::size_t node, std::string_view path, std::size_t start,
                     Visit& visit) const;
  void index_route(std::size_t index);

  std::vector<Route> routes_;
  std::vector<Node> nodes_ = std::vector<Node>(1);          // [0]: the root
  std::vector<std::pair<std::string, Handler>> not_found_;  // prefix, handler
  RouteGate gate_;
};

}  // namespace hookd
