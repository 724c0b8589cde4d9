#include "hookd/server/router.h"

#include <algorithm>
#include <map>
#include <utility>

namespace hookd {

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}. Empty segments are kept so that
// "/v1/events/" never matches "/v1/events/{id}".
std::vector<std::string_view> split_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(path.substr(start));
      break;
    }
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// Sets `params` from `path`, which matches `pattern` (find() said so), whose
// "{name}" segments are `names` in order. Walks the path as split_path()
// cuts it, without building the list: this runs for every request.
void fill_params(const std::vector<std::string>& pattern, const std::vector<std::string>& names,
                 std::string_view path, std::map<std::string, std::string>& params) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t start = 0;
  std::size_t name = 0;
  for (const std::string& segment : pattern) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (is_param(segment)) params[names[name++]].assign(path.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view part : split_path(pattern)) {
    route.segments.emplace_back(part);
    if (is_param(part)) route.params.emplace_back(part.substr(1, part.size() - 2));
  }
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
  index_route(routes_.size() - 1);
}

void Router::index_route(std::size_t index) {
  std::size_t node = 0;
  for (const std::string& segment : routes_[index].segments) {
    std::size_t next = 0;
    if (is_param(segment)) {
      next = nodes_[node].param;
    } else {
      for (const auto& [literal, child] : nodes_[node].literals) {
        if (literal == segment) next = child;
      }
    }
    if (next == 0) {
      next = nodes_.size();
      nodes_.emplace_back();  // invalidates references into nodes_
      if (is_param(segment)) {
        nodes_[node].param = next;
      } else {
        nodes_[node].literals.emplace_back(segment, next);
      }
    }
    node = next;
  }
  nodes_[node].routes.push_back(index);
}

// `start` is where the next segment of `path` (without its leading '/')
// begins; path.size() + 1 once the last one is taken.
template <typename Visit>
void Router::visit_matches(std::size_t node, std::string_view path, std::size_t start,
                           Visit& visit) const {
  const Node& here = nodes_[node];
  if (start > path.size()) {
    for (std::size_t index : here.routes)
      visit(index);
    return;
  }
  const std::size_t end = std::min(path.find('/', start), path.size());
  const std::string_view part = path.substr(start, end - start);
  for (const auto& [literal, child] : here.literals) {
    if (literal == part) visit_matches(child, path, end + 1, visit);
  }
  if (here.param != 0 && !part.empty()) visit_matches(here.param, path, end + 1, visit);
}

void Router::set_gate(RouteGate gate) {
  gate_ = std::move(gate);
}

Router Router::only(
    const std::function<bool(std::string_view method, std::string_view pattern)>& keep) const {
  Router kept;
  kept.gate_ = gate_;
  for (const Route& route : routes_) {
    if (!keep(route.method, route.pattern)) continue;
    kept.routes_.push_back(route);
    kept.index_route(kept.routes_.size() - 1);
  }
  // An API's own 404 goes with its routes.
  for (const auto& entry : not_found_) {
    if (keep("GET", entry.first)) kept.not_found_.push_back(entry);
  }
  return kept;
}

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

std::string_view without_slash(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return path;
}

}  // namespace

const Router::Route* Router::find(std::string_view method, std::string_view path) const {
  // The first route added wins, as if they were tried in order.
  std::size_t exact = kNone;
  std::size_t get = kNone;
  auto visit = [&](std::size_t index) {
    const std::string& route_method = routes_[index].method;
    if (route_method == method) {
      exact = std::min(exact, index);
    } else if (route_method == "GET") {
      get = std::min(get, index);
    }
  };
  visit_matches(0, without_slash(path), 0, visit);
  if (exact != kNone) return &routes_[exact];
  // HEAD is GET without the body (RFC 9110 section 9.3.2); the server drops
  // the body and keeps its Content-Length.
  return method == "HEAD" && get != kNone ? &routes_[get] : nullptr;
}

std::string_view Router::match(std::string_view method, std::string_view path) const {
  if (const Route* route = find(method, path)) return route->pattern;
  std::size_t first = kNone;
  auto visit = [&first](std::size_t index) { first = std::min(first, index); };
  visit_matches(0, without_slash(path), 0, visit);
  return first == kNone ? std::string_view() : std::string_view(routes_[first].pattern);
}

void Router::add_not_found(std::string prefix, Handler handler) {
  not_found_.emplace_back(std::move(prefix), std::move(handler));
}

const Router::Route* Router::find_remembered(HttpRequest& request, bool* repeat) const {
  HttpRequest::RouteMemo& memo = request.route_memo;
  *repeat = memo.router == this && memo.routes == routes_.size() && memo.method == request.method &&
            memo.path == request.path;
  if (*repeat) return static_cast<const Route*>(memo.route);
  const Route* route = find(request.method, request.path);
  if (route) {
    memo.router = this;
    memo.routes = routes_.size();
    memo.route = route;
    memo.method.assign(request.method);
    memo.path.assign(request.path);
  }
  return route;
}

void Router::dispatch(HttpRequest& request, Responder respond, std::string_view* pattern) const {
  bool repeat = false;
  if (const Route* route = find_remembered(request, &repeat)) {
    if (pattern) *pattern = route->pattern;
    // A repeat of the last request has its params already, unless its
    // handler changed them. Otherwise the last request's params (the same
    // connection's, usually the same route's) are overwritten in place:
    // their nodes and strings are reused.
    if (!repeat || request.params != request.route_memo.params) {
      std::erase_if(request.params, [route](const auto& param) {
        return std::find(route->params.begin(), route->params.end(), param.first) ==
               route->params.end();
      });
      fill_params(route->segments, route->params, request.path, request.params);
      if (request.route_memo.route == route) request.route_memo.params = request.params;
    }
    if (gate_) {
      if (std::optional<HttpResponse> refused = gate_(request, route->method, route->pattern)) {
        respond(std::move(*refused));
        return;
      }
    }
    route->handler(request, std::move(respond));
    return;
  }
  request.params.clear();
  std::vector<std::size_t> matching;
  auto visit = [&matching](std::size_t index) { matching.push_back(index); };
  visit_matches(0, without_slash(request.path), 0, visit);
  std::sort(matching.begin(), matching.end());
  // As match(): the first route of the path (405), else none.
  if (pattern) *pattern = matching.empty() ? std::string_view() : routes_[matching.front()].pattern;
  std::string allow;
  for (std::size_t index : matching) {
    if (!allow.empty()) allow += ", ";
    allow += routes_[index].method;
  }
  if (allow.empty()) {
    for (const auto& [prefix, handler] : not_found_) {
      if (request.path.starts_with(prefix)) return handler(request, std::move(respond));
    }
    respond(HttpResponse::error(404, "no such resource: " + request.path));
    return;
  }
  HttpResponse response =
      HttpResponse::error(405, "method " + request.method + " not allowed; allowed: " + allow);
  response.headers.emplace_back("Allow", allow);
  respond(std::move(response));
}

}  // namespace hookd
