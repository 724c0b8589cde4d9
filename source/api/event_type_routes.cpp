// /api/v1/event-type: list, create (unarchives an archived one), get, PUT
// (upsert), PATCH, DELETE (archives; ?expunge=true removes).
#include <boost/json.hpp>

#include "hookd/api/route_support.h"
#include "hookd/api/wire.h"
#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

void apply(EventType& type, const EventTypeInput& input, BodyKind kind) {
  if (input.description.has()) type.description = input.description.value;
  auto set_bool = [kind](bool& out, const Field<bool>& field) {
    if (field.has()) {
      out = field.value;
    } else if (kind == BodyKind::full) {
      out = false;
    }
  };
  set_bool(type.archived, input.archived);
  set_bool(type.deprecated, input.deprecated);
  if (kind == BodyKind::full || input.schemas_json.present) {
    type.schemas_json = input.schemas_json.has() ? input.schemas_json.value : "";
  }
  if (kind == BodyKind::full || input.feature_flag.present) {
    type.feature_flag =
        input.feature_flag.has() ? std::optional(input.feature_flag.value) : std::nullopt;
  }
  if (kind == BodyKind::full || input.feature_flags.present) {
    type.feature_flags =
        input.feature_flags.has() ? std::optional(input.feature_flags.value) : std::nullopt;
  }
  if (kind == BodyKind::full || input.group_name.present) {
    type.group_name = input.group_name.has() ? std::optional(input.group_name.value) : std::nullopt;
  }
}

Change not_found() {
  return Change{404, error_json("not_found", "Event type not found"), {}, {}, false};
}

// Stores `after` in place of `before` (nullopt: a new one).
Change store_type(ApiStore& store, Model& model, std::optional<EventType> before, EventType after,
                  int status) {
  model.event_types[after.name] = after;
  Change change{status, event_type_json(after, true), {store.save(after)}, {}, false};
  change.undo = [before = std::move(before), name = after.name](Model& model) {
    if (before) {
      model.event_types[name] = *before;
    } else {
      model.event_types.erase(name);
    }
  };
  return change;
}

void respond_change(Responder respond, int status, std::string body) {
  respond(reply_change(status, std::move(body)));
}

void list(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  Query query = parse_query(request.query);
  ListQuery list = read_list_query(query, false, errors);
  bool include_archived = read_query_bool(query, "include_archived", false, errors);
  bool with_content = read_query_bool(query, "with_content", false, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  std::string body = context.store.read([&](const Model& model) {
    auto page = paginate(model.event_types, list,
                         [&](const EventType& type) { return include_archived || !type.archived; });
    set_iterators(page, [](const EventType& type) { return type.name; });
    std::vector<std::string> items;
    for (const EventType* type : page.items)
      items.push_back(event_type_json(*type, with_content));
    return list_json(items, page);
  });
  respond(reply_json(200, std::move(body)));
}

void create(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_event_type(*body, BodyKind::full, true, errors);
  if (!input) return respond(reply_validation(errors));
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        auto it = model.event_types.find(input->name.value);
        std::optional<EventType> before;
        EventType after;
        if (it != model.event_types.end()) {
          if (!it->second.archived) {
            return Change{
                409,
                error_json("event_type_exists", "An event_type with this name already exists"),
                {},
                {},
                false};
          }
          before = it->second;
          after = it->second;
        } else {
          if (model.event_types.size() >= store.limits().max_event_types) {
            return Change{
                400,
                error_json("limit_reached", "Too many event types (--api-max-event-types)"),
                {},
                {},
                false};
          }
          after.name = input->name.value;
          after.created_ms = now_unix_ms();
        }
        apply(after, *input, BodyKind::full);
        after.updated_ms = now_unix_ms();
        return store_type(store, model, std::move(before), std::move(after), 201);
      },
      [respond](int status, std::string body) {
        respond_change(respond, status, std::move(body));
      });
}

void get(ApiContext& context, HttpRequest& request, Responder respond) {
  auto body = context.store.read([&](const Model& model) -> std::optional<std::string> {
    auto it = model.event_types.find(request.params["name"]);
    if (it == model.event_types.end()) return std::nullopt;
    return event_type_json(it->second, true);
  });
  if (!body) return respond(reply_not_found("Event type"));
  respond(reply_json(200, std::move(*body)));
}

void update(ApiContext& context, HttpRequest& request, Responder respond, BodyKind kind) {
  ValidationItems errors;
  const std::string name = request.params["name"];
  if (!valid_type_name(name)) {
    errors.push_back({{"path", "event_type_name"}, "Not a valid event type name.", "value_error"});
    return respond(reply_validation(errors));
  }
  auto body = read_json_body(request, respond);
  if (!body) return;
  auto input = read_event_type(*body, kind, false, errors);
  if (!input) return respond(reply_validation(errors));
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        auto it = model.event_types.find(name);
        if (it == model.event_types.end()) {
          if (kind == BodyKind::patch) return not_found();
          if (model.event_types.size() >= store.limits().max_event_types) {
            return Change{
                400,
                error_json("limit_reached", "Too many event types (--api-max-event-types)"),
                {},
                {},
                false};
          }
          EventType after;
          after.name = name;
          after.created_ms = after.updated_ms = now_unix_ms();
          apply(after, *input, kind);
          return store_type(store, model, std::nullopt, std::move(after), 201);
        }
        EventType before = it->second;
        EventType after = before;
        apply(after, *input, kind);
        after.updated_ms = now_unix_ms();
        return store_type(store, model, std::move(before), std::move(after), 200);
      },
      [respond](int status, std::string body) {
        respond_change(respond, status, std::move(body));
      });
}

void remove(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  bool expunge = read_query_bool(parse_query(request.query), "expunge", false, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  const std::string name = request.params["name"];
  ApiStore& store = context.store;
  store.change(
      [&](Model& model) {
        auto it = model.event_types.find(name);
        if (it == model.event_types.end()) return not_found();
        EventType before = it->second;
        if (expunge) {
          model.event_types.erase(it);
          FileOp op = store.save(before);
          op.kind = FileOp::Kind::remove;
          Change change{204, {}, {std::move(op)}, {}, false};
          change.undo = [before](Model& model) { model.event_types[before.name] = before; };
          return change;
        }
        EventType after = before;
        after.archived = true;
        after.updated_ms = now_unix_ms();
        Change change = store_type(store, model, std::move(before), std::move(after), 204);
        change.body.clear();
        return change;
      },
      [respond](int status, std::string body) {
        respond_change(respond, status, std::move(body));
      });
}

}  // namespace

void add_event_type_routes(Router& router, ApiContext& context) {
  ApiContext* c = &context;
  add_route(router, context, "GET", "/api/v1/event-type",
            [c](HttpRequest& r, Responder respond) { list(*c, r, std::move(respond)); });
  add_route(router, context, "POST", "/api/v1/event-type",
            [c](HttpRequest& r, Responder respond) { create(*c, r, std::move(respond)); });
  add_route(router, context, "GET", "/api/v1/event-type/{name}",
            [c](HttpRequest& r, Responder respond) { get(*c, r, std::move(respond)); });
  add_route(router, context, "PUT", "/api/v1/event-type/{name}",
            [c](HttpRequest& r, Responder respond) {
              update(*c, r, std::move(respond), BodyKind::full);
            });
  add_route(router, context, "PATCH", "/api/v1/event-type/{name}",
            [c](HttpRequest& r, Responder respond) {
              update(*c, r, std::move(respond), BodyKind::patch);
            });
  add_route(router, context, "DELETE", "/api/v1/event-type/{name}",
            [c](HttpRequest& r, Responder respond) { remove(*c, r, std::move(respond)); });
}

}  // namespace hookd::api
