// /api/v1/app: list, create (?get_if_exists), get, PUT (upsert), PATCH, DELETE.
#include <boost/json.hpp>

#include "hookd/api/ids.h"
#include "hookd/api/route_support.h"
#include "hookd/api/wire.h"
#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

// The fields of `input` onto `app` (PUT replaces, PATCH merges).
void apply(Application& app, const ApplicationInput& input, BodyKind kind) {
  if (input.name.has()) app.name = input.name.value;
  if (kind == BodyKind::full || input.uid.present) app.uid = input.uid.has() ? input.uid.value : "";
  if (kind == BodyKind::full || input.rate_limit.present) {
    app.rate_limit = input.rate_limit.has() ? std::optional(input.rate_limit.value) : std::nullopt;
  }
  if (kind == BodyKind::full || input.metadata.present) {
    app.metadata = input.metadata.has() ? input.metadata.value : StringMap{};
  }
}

void index_uid(Model& model, const std::string& old_uid, const Application& app) {
  if (!old_uid.empty()) model.app_id_by_uid.erase(old_uid);
  if (!app.uid.empty()) model.app_id_by_uid[app.uid] = app.id;
}

// A uid another application (or an id) already answers to.
bool uid_taken(const Model& model, const std::string& uid, const std::string& self_id) {
  if (uid.empty()) return false;
  const Application* other = model.find_app(uid);
  return other && other->id != self_id;
}

void list(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  Query query = parse_query(request.query);
  ListQuery list = read_list_query(query, false, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  std::string body = context.store.read([&](const Model& model) {
    auto page = paginate(model.apps, list, [](const Application&) { return true; });
    set_iterators(page, [](const Application& app) { return app.id; });
    std::vector<std::string> items;
    for (const Application* app : page.items)
      items.push_back(application_json(*app));
    return list_json(items, page);
  });
  respond(reply_json(200, std::move(body)));
}

}  // namespace

// Shared with implicit creation in message create: a new application from
// `input`, or the existing one with its uid (200 when `get_if_exists`).
Change create_application(ApiStore& store, Model& model, const ApplicationInput& input,
                          bool get_if_exists, std::string* app_id) {
  Change change;
  if (input.uid.has()) {
    if (const Application* existing = model.find_app(input.uid.value)) {
      if (get_if_exists) {
        change.status = 200;
        change.body = application_json(*existing);
        if (app_id) *app_id = existing->id;
      } else {
        change.status = 409;
        change.body = error_json("conflict", "An application with that id or uid already exists");
      }
      return change;
    }
  }
  if (model.apps.size() >= store.limits().max_applications) {
    change.status = 400;
    change.body = error_json("limit_reached", "Too many applications (--api-max-applications)");
    return change;
  }
  Application app;
  app.id = new_id("app_");
  app.created_ms = app.updated_ms = now_unix_ms();
  apply(app, input, BodyKind::full);
  index_uid(model, "", app);
  change.status = 201;
  change.body = application_json(app);
  change.ops.push_back(store.save(app));
  std::string id = app.id;
  if (app_id) *app_id = id;
  model.apps.emplace(id, std::move(app));
  change.undo = [id](Model& model) {
    auto it = model.apps.find(id);
    if (it == model.apps.end()) return;
    if (!it->second.uid.empty()) model.app_id_by_uid.erase(it->second.uid);
    model.apps.erase(it);
  };
  return change;
}

namespace {

void create(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  Query query = parse_query(request.query);
  bool get_if_exists = read_query_bool(query, "get_if_exists", false, errors);
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_application(*body, BodyKind::full, context.store.limits(), errors);
  if (!input || !errors.empty()) return respond(reply_validation(errors));
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        return create_application(store, model, *input, get_if_exists, nullptr);
      },
      [respond](int status, std::string body) { respond(reply_change(status, std::move(body))); });
}

void get(ApiContext& context, HttpRequest& request, Responder respond) {
  auto body = context.store.read([&](const Model& model) -> std::optional<std::string> {
    const Application* app = model.find_app(request.params["app"]);
    if (!app) return std::nullopt;
    return application_json(*app);
  });
  if (!body) return respond(reply_not_found("Application"));
  respond(reply_json(200, std::move(*body)));
}

void update(ApiContext& context, HttpRequest& request, Responder respond, BodyKind kind) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_application(*body, kind, context.store.limits(), errors);
  if (!input) return respond(reply_validation(errors));
  const std::string path_id = request.params["app"];
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        Application* app = model.find_app(path_id);
        if (!app) {
          if (kind == BodyKind::patch) {
            return Change{404, error_json("not_found", "Application not found"), {}, {}, false};
          }
          // PUT on a missing application creates it (Svix's upsert).
          return create_application(store, model, *input, false, nullptr);
        }
        Application before = *app;
        Application after = before;
        apply(after, *input, kind);
        if (uid_taken(model, after.uid, after.id)) {
          return Change{409,
                        error_json("conflict", "An application with that uid already exists"),
                        {},
                        {},
                        false};
        }
        after.updated_ms = now_unix_ms();
        index_uid(model, before.uid, after);
        *app = after;
        Change change{200, application_json(after), {store.save(after)}, {}, false};
        change.undo = [before, after](Model& model) {
          index_uid(model, after.uid, before);
          model.apps[before.id] = before;
        };
        return change;
      },
      [respond](int status, std::string body) { respond(reply_change(status, std::move(body))); });
}

void remove(ApiContext& context, HttpRequest& request, Responder respond) {
  const std::string path_id = request.params["app"];
  ApiStore& store = context.store;
  MessageIndex& messages = context.messages;
  auto deleted = std::make_shared<std::string>();
  store.change(
      [&](Model& model) {
        Application* app = model.find_app(path_id);
        if (!app)
          return Change{404, error_json("not_found", "Application not found"), {}, {}, false};
        Application before = *app;
        auto endpoints = model.endpoints[before.id];
        // The application's file goes first: endpoint files left by a crash
        // in between are removed at the next start.
        Change change{204, {}, {store.remove_application_file(before.id)}, {}, true};
        for (const auto& [id, endpoint] : endpoints)
          change.ops.push_back(store.remove_endpoint_file(id));
        if (!before.uid.empty()) model.app_id_by_uid.erase(before.uid);
        model.apps.erase(before.id);
        model.endpoints.erase(before.id);
        *deleted = before.id;
        change.undo = [before, endpoints](Model& model) {
          model.apps[before.id] = before;
          if (!before.uid.empty()) model.app_id_by_uid[before.uid] = before.id;
          model.endpoints[before.id] = endpoints;
        };
        return change;
      },
      [respond, deleted, &messages](int status, std::string body) {
        if (status == 204) messages.forget_app(*deleted);
        respond(reply_change(status, std::move(body)));
      });
}

}  // namespace

void add_application_routes(Router& router, ApiContext& context) {
  ApiContext* c = &context;
  add_route(router, context, "GET", "/api/v1/app",
            [c](HttpRequest& r, Responder respond) { list(*c, r, std::move(respond)); });
  add_route(router, context, "POST", "/api/v1/app",
            [c](HttpRequest& r, Responder respond) { create(*c, r, std::move(respond)); });
  add_route(router, context, "GET", "/api/v1/app/{app}",
            [c](HttpRequest& r, Responder respond) { get(*c, r, std::move(respond)); });
  add_route(router, context, "PUT", "/api/v1/app/{app}", [c](HttpRequest& r, Responder respond) {
    update(*c, r, std::move(respond), BodyKind::full);
  });
  add_route(router, context, "PATCH", "/api/v1/app/{app}", [c](HttpRequest& r, Responder respond) {
    update(*c, r, std::move(respond), BodyKind::patch);
  });
  add_route(router, context, "DELETE", "/api/v1/app/{app}",
            [c](HttpRequest& r, Responder respond) { remove(*c, r, std::move(respond)); });
}

}  // namespace hookd::api
