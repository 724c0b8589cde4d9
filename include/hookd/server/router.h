// Router: routes requests by method and path pattern to plain handler
// functions. Built before the server starts; dispatch() and match() are
// const and safe to call from every reactor thread at once.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/server/http_message.h"

namespace hookd {

using Handler = std::function<void(HttpRequest&, Responder)>;

// Patterns match one segment per "{name}": "/v1/events/{id}". Unknown paths
// get 404; known paths with another method 405. HEAD goes to the GET route
// of a path unless a HEAD route is added.
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

}  // namespace hookd
