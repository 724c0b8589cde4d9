#include "hookd/server/route_access.h"

#include <memory>

#include "hookd/server/bearer_tokens.h"

namespace hookd {

RouteAccess route_access(std::string_view method, std::string_view pattern) {
  if (pattern == "/api" || pattern.rfind("/api/", 0) == 0) return RouteAccess::svix_api;
  if (method == "POST" && pattern == "/v1/events") return RouteAccess::ingest;
  if (method == "GET" || method == "HEAD") {
    if (pattern == "/healthz" || pattern == "/readyz" || pattern == "/metrics") {
      return RouteAccess::probe;
    }
    return RouteAccess::read;
  }
  return RouteAccess::admin;
}

bool faces_senders(RouteAccess access) {
  return access == RouteAccess::ingest || access == RouteAccess::svix_api;
}

Router sender_routes(const Router& all) {
  return all.only([](std::string_view method, std::string_view pattern) {
    return faces_senders(route_access(method, pattern));
  });
}

Router operator_routes(const Router& all) {
  return all.only([](std::string_view method, std::string_view pattern) {
    return !faces_senders(route_access(method, pattern));
  });
}

namespace {

HttpResponse unauthorized(std::string_view reason) {
  HttpResponse response = HttpResponse::error(401, reason);
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hookd\"");
  return response;
}

struct AccessGate {
  BearerTokens admin;
  BearerTokens readers;  // the admin token and every API token

  std::optional<HttpResponse> operator()(const HttpRequest& request, std::string_view method,
                                         std::string_view pattern) const {
    switch (route_access(method, pattern)) {
      case RouteAccess::probe:
      case RouteAccess::ingest:
      case RouteAccess::svix_api:
        return std::nullopt;
      case RouteAccess::read:
        if (readers.empty()) {
          return HttpResponse::error(
              403,
              "reads are off: start hookd with --admin-token or --api-token and send "
              "Authorization: Bearer <token> to read events and endpoints");
        }
        if (readers.accepts(request.header("authorization"))) return std::nullopt;
        return unauthorized(
            "missing or wrong bearer token: send Authorization: Bearer <--admin-token or "
            "--api-token>");
      case RouteAccess::admin:
        if (admin.empty()) {
          return HttpResponse::error(
              403, "admin routes are off: start hookd with --admin-token to use /v1/endpoints");
        }
        if (admin.accepts(request.header("authorization"))) return std::nullopt;
        return unauthorized("missing or wrong admin bearer token");
    }
    return HttpResponse::error(403, "no access rule for this route");
  }
};

}  // namespace

RouteGate make_access_gate(const AccessTokens& tokens) {
  std::vector<std::string> readers = tokens.api_tokens;
  readers.push_back(tokens.admin_token);
  auto gate = std::make_shared<const AccessGate>(
      AccessGate{BearerTokens({tokens.admin_token}), BearerTokens(readers)});
  return [gate](const HttpRequest& request, std::string_view method, std::string_view pattern) {
    return (*gate)(request, method, pattern);
  };
}

}  // namespace hookd
