// Route access: which credential each route needs, decided from its method
// and pattern alone (a pure function, so the whole policy is one table),
// and the Router gate that asks for it. Routes hookd does not know of (a
// module added later) need a token until they are placed here: the default
// is closed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hookd/server/router.h"

namespace hookd {

enum class RouteAccess {
  probe,     // GET /healthz, /readyz, /metrics: open, and they say nothing secret
  ingest,    // POST /v1/events: signed by an inbound secret when any is set
  svix_api,  // /api/...: the Svix API checks its own tokens and JWTs
  read,      // any other GET (and HEAD): the admin token or an API token
  admin,     // any other method: the admin token only
};

RouteAccess route_access(std::string_view method, std::string_view pattern);

// With an admin listener, the main listener serves these only (ingest and the
// Svix API); the admin listener serves the rest.
bool faces_senders(RouteAccess access);

// A router's share for each listener when --admin-listen is set.
Router sender_routes(const Router& all);    // faces_senders() routes only
Router operator_routes(const Router& all);  // every other route

struct AccessTokens {
  std::string admin_token;              // --admin-token; empty: none
  std::vector<std::string> api_tokens;  // --api-token; they read too
};

// The gate for Router::set_gate(): reads without a valid token get 401, and
// 403 when no token is configured that could open them (with the flag to
// set in the JSON reason), as admin routes without --admin-token do.
RouteGate make_access_gate(const AccessTokens& tokens);

}  // namespace hookd
