// /api/v1/app/{app}/endpoint: list, create, get, PUT (upsert), PATCH,
// DELETE; .../secret (get), .../secret/rotate, .../headers (GET, PUT, PATCH).
#include <boost/json.hpp>

#include "hookd/api/ids.h"
#include "hookd/api/route_support.h"
#include "hookd/api/wire.h"
#include "hookd/core/ascii.h"
#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

void apply(Endpoint& endpoint, const EndpointInput& input, BodyKind kind) {
  const bool full = kind == BodyKind::full;
  if (input.url.has()) endpoint.url = input.url.value;
  if (full || input.description.present) {
    endpoint.description = input.description.has() ? input.description.value : "";
  }
  if (full || input.filter_types.present) {
    endpoint.filter_types =
        input.filter_types.has() ? std::optional(input.filter_types.value) : std::nullopt;
  }
  if (full || input.channels.present) {
    endpoint.channels = input.channels.has() ? std::optional(input.channels.value) : std::nullopt;
  }
  if (full || input.disabled.present)
    endpoint.disabled = input.disabled.has() && input.disabled.value;
  if (full || input.rate_limit.present) {
    endpoint.rate_limit =
        input.rate_limit.has() ? std::optional(input.rate_limit.value) : std::nullopt;
  }
  if (full || input.uid.present) endpoint.uid = input.uid.has() ? input.uid.value : "";
  if (full || input.version.present)
    endpoint.version = input.version.has() ? input.version.value : 1;
  if (full || input.metadata.present) {
    endpoint.metadata = input.metadata.has() ? input.metadata.value : StringMap{};
  }
  if (input.headers.has()) endpoint.headers = input.headers.value;
}

Change answer(int status, std::string_view code, std::string detail) {
  return Change{status, error_json(code, detail), {}, {}, false};
}

Change app_not_found() {
  return answer(404, "not_found", "Application not found");
}

Change endpoint_not_found() {
  return answer(404, "not_found", "Endpoint not found");
}

// 422 when a filter type is not an existing, unarchived event type.
std::optional<Change> check_filter_types(const Model& model, const Endpoint& endpoint) {
  if (!endpoint.filter_types) return std::nullopt;
  std::string missing;
  for (const std::string& name : *endpoint.filter_types) {
    auto it = model.event_types.find(name);
    if (it == model.event_types.end() || it->second.archived) {
      missing += (missing.empty() ? "" : ", ") + name;
    }
  }
  if (missing.empty()) return std::nullopt;
  ValidationItems items{{{"body", "filterTypes"},
                         "The following event types don't exist: " + missing,
                         "value_error"}};
  return Change{422, validation_json(items), {}, {}, false};
}

bool uid_taken(Model& model, const Endpoint& endpoint) {
  if (endpoint.uid.empty()) return false;
  Endpoint* other = model.find_endpoint(endpoint.app_id, endpoint.uid);
  return other && other->id != endpoint.id;
}

// Stores `after`, replacing `before` (nullopt: a new endpoint).
Change store_endpoint(ApiStore& store, Model& model, std::optional<Endpoint> before, Endpoint after,
                      int status, std::string body) {
  model.endpoints[after.app_id][after.id] = after;
  Change change{status, std::move(body), {store.save(after)}, {}, true};
  change.undo = [before = std::move(before), app = after.app_id, id = after.id](Model& model) {
    if (before) {
      model.endpoints[app][id] = *before;
    } else {
      model.endpoints[app].erase(id);
    }
  };
  return change;
}

Change create_endpoint(ApiStore& store, Model& model, const Application& app,
                       const EndpointInput& input) {
  if (model.endpoint_count(app.id) >= store.limits().max_endpoints_per_app) {
    return answer(400, "limit_reached",
                  "Too many endpoints for this application (--api-max-endpoints-per-app)");
  }
  Endpoint endpoint;
  endpoint.id = new_id("ep_");
  endpoint.app_id = app.id;
  endpoint.created_ms = endpoint.updated_ms = now_unix_ms();
  apply(endpoint, input, BodyKind::full);
  endpoint.secret = input.secret.has() ? input.secret.value : generate_secret();
  if (endpoint.secret.empty()) return answer(500, "server_error", "no random bytes for a secret");
  if (auto refused = check_filter_types(model, endpoint)) return *refused;
  if (uid_taken(model, endpoint)) {
    return answer(409, "conflict", "An endpoint with that uid already exists");
  }
  std::string body = endpoint_json(endpoint);
  return store_endpoint(store, model, std::nullopt, std::move(endpoint), 201, std::move(body));
}

// Runs `change` on the endpoint the path names, answering 404 for an
// unknown application, and for an unknown endpoint unless `missing` says
// what to do instead.
void with_endpoint(ApiContext& context, HttpRequest& request, Responder respond,
                   std::function<Change(Model&, Endpoint&)> change,
                   std::function<Change(Model&, Application&)> missing = nullptr) {
  const std::string app_path = request.params["app"];
  const std::string endpoint_path = request.params["ep"];
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        Application* app = model.find_app(app_path);
        if (!app) return app_not_found();
        Endpoint* endpoint = model.find_endpoint(app->id, endpoint_path);
        if (!endpoint) return missing ? missing(model, *app) : endpoint_not_found();
        return change(model, *endpoint);
      },
      [respond](int status, std::string body) { respond(reply_change(status, std::move(body))); });
}

void list(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  ListQuery list = read_list_query(parse_query(request.query), true, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  auto body = context.store.read([&](const Model& model) -> std::optional<std::string> {
    const Application* app = model.find_app(request.params["app"]);
    if (!app) return std::nullopt;
    static const std::map<std::string, Endpoint> kNone;
    auto it = model.endpoints.find(app->id);
    const auto& endpoints = it == model.endpoints.end() ? kNone : it->second;
    auto page = paginate(endpoints, list, [](const Endpoint&) { return true; });
    set_iterators(page, [](const Endpoint& endpoint) { return endpoint.id; });
    std::vector<std::string> items;
    for (const Endpoint* endpoint : page.items)
      items.push_back(endpoint_json(*endpoint));
    return list_json(items, page);
  });
  if (!body) return respond(reply_not_found("Application"));
  respond(reply_json(200, std::move(*body)));
}

void create(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_endpoint(*body, BodyKind::full, context.store.limits(), errors);
  if (!input) return respond(reply_validation(errors));
  const std::string app_path = request.params["app"];
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        Application* app = model.find_app(app_path);
        if (!app) return app_not_found();
        return create_endpoint(store, model, *app, *input);
      },
      [respond](int status, std::string body) { respond(reply_change(status, std::move(body))); });
}

void get(ApiContext& context, HttpRequest& request, Responder respond,
         std::string (*render)(const Endpoint&)) {
  int status = 404;
  std::string body = context.store.read([&](const Model& model) {
    Model& mutable_model = const_cast<Model&>(model);  // find_endpoint does not modify
    const Application* app = model.find_app(request.params["app"]);
    if (!app) return error_json("not_found", "Application not found");
    const Endpoint* endpoint = mutable_model.find_endpoint(app->id, request.params["ep"]);
    if (!endpoint) return error_json("not_found", "Endpoint not found");
    status = 200;
    return render(*endpoint);
  });
  respond(reply_json(status, std::move(body)));
}

std::string secret_json(const Endpoint& endpoint) {
  return boost::json::serialize(boost::json::object{{"key", endpoint.secret}});
}

void update(ApiContext& context, HttpRequest& request, Responder respond, BodyKind kind) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_endpoint(*body, kind, context.store.limits(), errors);
  if (!input) return respond(reply_validation(errors));
  ApiStore& store = context.store;
  auto upsert = [&](Model& model, Application& app) {
    return create_endpoint(store, model, app, *input);  // PUT on a missing endpoint creates it
  };
  with_endpoint(
      context, request, std::move(respond),
      [&](Model& model, Endpoint& endpoint) {
        Endpoint before = endpoint;
        Endpoint after = before;
        apply(after, *input, kind);
        if (input->secret.has()) after.secret = input->secret.value;
        if (auto refused = check_filter_types(model, after)) return *refused;
        if (uid_taken(model, after)) {
          return answer(409, "conflict", "An endpoint with that uid already exists");
        }
        after.updated_ms = now_unix_ms();
        std::string body = endpoint_json(after);
        return store_endpoint(store, model, std::move(before), std::move(after), 200,
                              std::move(body));
      },
      kind == BodyKind::full ? std::function<Change(Model&, Application&)>(upsert) : nullptr);
}

void remove(ApiContext& context, HttpRequest& request, Responder respond) {
  ApiStore& store = context.store;
  with_endpoint(context, request, std::move(respond), [&store](Model& model, Endpoint& endpoint) {
    Endpoint before = endpoint;
    model.endpoints[before.app_id].erase(before.id);
    Change change{204, {}, {store.remove_endpoint_file(before.id)}, {}, true};
    change.undo = [before](Model& model) { model.endpoints[before.app_id][before.id] = before; };
    return change;
  });
}

void rotate(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto key = read_rotate(*body, errors);
  if (!key) return respond(reply_validation(errors));
  ApiStore& store = context.store;
  std::string new_key = key->empty() ? generate_secret() : *key;
  with_endpoint(context, request, std::move(respond), [&](Model& model, Endpoint& endpoint) {
    const Limits& limits = store.limits();
    const std::int64_t now = now_unix_ms();
    Endpoint after = endpoint;
    std::erase_if(after.old_secrets, [now](const OldSecret& old) { return old.expires_ms <= now; });
    if (after.old_secrets.size() >= limits.max_old_secrets) {
      return answer(400, "limit_reached",
                    "You can only rotate a key " + std::to_string(limits.max_old_secrets) +
                        " times; please wait for old keys to expire. Your next key expires at " +
                        format_rfc3339(after.old_secrets.front().expires_ms) + ".");
    }
    after.old_secrets.push_back(OldSecret{after.secret, now + limits.secret_grace_ms});
    after.secret = new_key;
    after.updated_ms = now;
    Endpoint before = endpoint;
    return store_endpoint(store, model, std::move(before), std::move(after), 204, {});
  });
}

void set_headers(ApiContext& context, HttpRequest& request, Responder respond, bool patch) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  const Limits& limits = context.store.limits();
  std::optional<std::vector<std::pair<std::string, std::string>>> replace;
  std::optional<HeadersPatchInput> changes;
  if (patch) {
    changes = read_headers_patch(*body, limits, errors);
    if (!changes) return respond(reply_validation(errors));
  } else {
    replace = read_headers(*body, limits, errors);
    if (!replace) return respond(reply_validation(errors));
  }
  ApiStore& store = context.store;
  with_endpoint(context, request, std::move(respond), [&](Model& model, Endpoint& endpoint) {
    Endpoint after = endpoint;
    if (replace) {
      after.headers = *replace;
    } else {
      auto drop = [&after](std::string_view name) {
        std::erase_if(after.headers,
                      [name](const auto& header) { return ascii_iequals(header.first, name); });
      };
      for (const auto& [name, value] : changes->set) {
        drop(name);
        if (value) after.headers.emplace_back(name, *value);
      }
      for (const std::string& name : changes->remove)
        drop(name);
      if (after.headers.size() > limits.max_headers) {
        return answer(400, "limit_reached",
                      "At most " + std::to_string(limits.max_headers) + " headers");
      }
    }
    after.updated_ms = now_unix_ms();
    Endpoint before = endpoint;
    return store_endpoint(store, model, std::move(before), std::move(after), 204, {});
  });
}

}  // namespace

void add_endpoint_routes(Router& router, ApiContext& context) {
  ApiContext* c = &context;
  const std::string base = "/api/v1/app/{app}/endpoint";
  const std::string one = base + "/{ep}";
  add_route(router, context, "GET", base,
            [c](HttpRequest& r, Responder respond) { list(*c, r, std::move(respond)); });
  add_route(router, context, "POST", base,
            [c](HttpRequest& r, Responder respond) { create(*c, r, std::move(respond)); });
  add_route(router, context, "GET", one, [c](HttpRequest& r, Responder respond) {
    get(*c, r, std::move(respond), endpoint_json);
  });
  add_route(router, context, "PUT", one, [c](HttpRequest& r, Responder respond) {
    update(*c, r, std::move(respond), BodyKind::full);
  });
  add_route(router, context, "PATCH", one, [c](HttpRequest& r, Responder respond) {
    update(*c, r, std::move(respond), BodyKind::patch);
  });
  add_route(router, context, "DELETE", one,
            [c](HttpRequest& r, Responder respond) { remove(*c, r, std::move(respond)); });
  add_route(router, context, "GET", one + "/secret", [c](HttpRequest& r, Responder respond) {
    get(*c, r, std::move(respond), secret_json);
  });
  add_route(router, context, "POST", one + "/secret/rotate",
            [c](HttpRequest& r, Responder respond) { rotate(*c, r, std::move(respond)); });
  add_route(router, context, "GET", one + "/headers", [c](HttpRequest& r, Responder respond) {
    get(*c, r, std::move(respond), endpoint_headers_json);
  });
  add_route(router, context, "PUT", one + "/headers", [c](HttpRequest& r, Responder respond) {
    set_headers(*c, r, std::move(respond), false);
  });
  add_route(router, context, "PATCH", one + "/headers", [c](HttpRequest& r, Responder respond) {
    set_headers(*c, r, std::move(respond), true);
  });
}

}  // namespace hookd::api
