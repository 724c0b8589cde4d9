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

// Walks `path` segment by segment as split_path() cuts it, without building
// the list: this runs for every request, split_path() only for add().
bool segments_match(const std::vector<std::string>& pattern, std::string_view path,
                    std::map<std::string, std::string>* params) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t start = 0;  // path.size() + 1 once the last segment is taken
  for (const std::string& segment : pattern) {
    if (start > path.size()) return false;
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (is_param(segment)) {
      if (part.empty()) return false;
      if (params) (*params)[segment.substr(1, segment.size() - 2)] = std::string(part);
    } else if (segment != part) {
      return false;
    }
  }
  return start == path.size() + 1;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view part : split_path(pattern))
    route.segments.emplace_back(part);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

const Router::Route* Router::find(std::string_view method, std::string_view path) const {
  const Route* get = nullptr;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, path, nullptr)) continue;
    if (route.method == method) return &route;
    if (!get && route.method == "GET") get = &route;
  }
  // HEAD is GET without the body (RFC 9110 section 9.3.2); the server drops
  // the body and keeps its Content-Length.
  return method == "HEAD" ? get : nullptr;
}

std::string Router::match(std::string_view method, std::string_view path) const {
  if (const Route* route = find(method, path)) return route->pattern;
  for (const Route& route : routes_) {
    if (segments_match(route.segments, path, nullptr)) return route.pattern;
  }
  return std::string();
}

void Router::dispatch(HttpRequest& request, Responder respond) const {
  if (const Route* route = find(request.method, request.path)) {
    request.params.clear();
    segments_match(route->segments, request.path, &request.params);
    route->handler(request, std::move(respond));
    return;
  }
  std::string allow;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, request.path, nullptr)) continue;
    if (!allow.empty()) allow += ", ";
    allow += route.method;
  }
  if (allow.empty()) {
    respond(HttpResponse::error(404, "no such resource: " + request.path));
    return;
  }
  HttpResponse response =
      HttpResponse::error(405, "method " + request.method + " not allowed; allowed: " + allow);
  response.headers.emplace_back("Allow", allow);
  respond(std::move(response));
}

}  // namespace hookd
