// Delivery attempts: /api/v1/app/{app}/attempt/msg/{msg} and
// .../attempt/endpoint/{ep} (newest first, with svix-server's filters),
// .../msg/{msg}/endpoint/{ep}/resend and .../endpoint/{ep}/recover (manual
// attempts, 202 at once; delivery makes them in the background).
#include <boost/json.hpp>

#include "hookd/api/attempt_store.h"
#include "hookd/api/ids.h"
#include "hookd/api/route_support.h"
#include "hookd/api/wire.h"
#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

// As svix-server: `since` may be 14 days back, plus five minutes of clock skew.
constexpr std::int64_t kRecoverWindowMs = (14LL * 24 * 60 + 5) * 60 * 1000;

std::string app_id_of(ApiContext& context, const std::string& app) {
  return context.store.read([&](const Model& model) -> std::string {
    const Application* found = model.find_app(app);
    return found ? found->id : std::string();
  });
}

std::string endpoint_id_of(ApiContext& context, const std::string& app_id,
                           const std::string& endpoint) {
  return context.store.read([&](const Model& model) -> std::string {
    const Endpoint* found = model.find_endpoint(app_id, endpoint);
    return found ? found->id : std::string();
  });
}

// The id of the application's message `msg` (an id or eventId): from the
// index, else from the journal for one the index no longer holds, else (an
// id only) from the attempts.
std::string message_id_of(ApiContext& context, const std::string& app_id, const std::string& msg) {
  if (auto entry = context.messages.find(app_id, msg)) return entry->id;
  std::optional<StoredEvent> stored = context.journal.lookup(msg);
  if (stored && stored->event.message && stored->event.message->app_id == app_id) {
    return stored->event.id;
  }
  // Accepted by another node (--queue): known here by its shared attempts.
  if (context.attempts) {
    std::vector<Attempt> storage;
    ListQuery newest;
    newest.limit = 1;
    auto page = context.attempts->list_by_message(msg, newest, AttemptFilter{}, storage);
    if (!page.items.empty() && page.items[0]->app_id == app_id) return msg;
  }
  return {};
}

std::optional<int> read_query_int(const Query& query, const std::string& name,
                                  std::initializer_list<int> allowed, ValidationItems& errors) {
  auto value = query_value(query, name);
  if (!value) return std::nullopt;
  for (int candidate : allowed) {
    if (*value == std::to_string(candidate)) return candidate;
  }
  errors.push_back({{"query", name}, "value is not a valid enumeration member", "type_error.enum"});
  return std::nullopt;
}

struct AttemptQuery {
  ListQuery list;
  AttemptFilter filter;
  MessageFilter message;
  bool with_content = false;
  bool with_msg = false;
  std::string endpoint;  // endpoint_id as given (by-message lists)
};

AttemptQuery read_attempt_query(const HttpRequest& request, ValidationItems& errors) {
  Query query = parse_query(request.query);
  AttemptQuery out;
  out.list = read_list_query(query, true, errors);
  out.filter.status = read_query_int(query, "status", {0, 1, 2, 3, 4}, errors);
  out.filter.status_code_class =
      read_query_int(query, "status_code_class", {0, 100, 200, 300, 400, 500}, errors);
  out.message = read_message_filter(query, errors);
  out.with_content = read_query_bool(query, "with_content", false, errors);
  out.with_msg = read_query_bool(query, "with_msg", false, errors);
  if (auto endpoint = query_value(query, "endpoint_id")) {
    if (!valid_limited_string(*endpoint)) {
      errors.push_back({{"query", "endpoint_id"}, "Invalid endpoint id", "value_error"});
    }
    out.endpoint = *endpoint;
  }
  auto before = read_query_time(query, "before", errors);
  auto after = read_query_time(query, "after", errors);
  if (before) out.list.before_key = id_at("atmpt_", *before, false);
  if (after) out.list.after_key = id_at("atmpt_", *after, true);
  return out;
}

// The message filters need the message: those the index no longer holds
// match no filter.
void filter_by_message(ApiContext& context, const std::string& app_id, AttemptQuery& query) {
  if (query.message.empty()) return;
  MessageIndex* messages = &context.messages;
  query.filter.message = [messages, app_id, filter = query.message](const std::string& msg_id) {
    auto entry = messages->find(app_id, msg_id);
    return entry && filter.matches(*entry);
  };
}

std::string message_out(ApiContext& context, const std::string& app_id, const std::string& msg_id,
                        bool with_content) {
  auto entry = context.messages.find(app_id, msg_id);
  if (!entry) return {};
  std::string payload = "{}";
  if (with_content) {
    std::optional<StoredEvent> stored = context.journal.lookup(entry->id);
    payload = stored ? stored->event.payload_json : std::string();
  }
  return message_json(*entry, payload);
}

void list_by_message(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  AttemptQuery query = read_attempt_query(request, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  const std::string app_id = app_id_of(context, request.params["app"]);
  if (app_id.empty()) return respond(reply_not_found("Application"));
  const std::string msg_id = message_id_of(context, app_id, request.params["msg"]);
  if (msg_id.empty()) return respond(reply_not_found("Message"));
  if (!query.endpoint.empty()) {
    query.filter.endpoint_id = endpoint_id_of(context, app_id, query.endpoint);
    if (query.filter.endpoint_id.empty()) return respond(reply_not_found("Endpoint"));
  }
  filter_by_message(context, app_id, query);
  std::vector<Attempt> storage;
  auto page = context.attempts->list_by_message(msg_id, query.list, query.filter, storage);
  std::vector<std::string> items;
  for (const Attempt* attempt : page.items)
    items.push_back(attempt_json(*attempt));
  respond(reply_json(200, list_json(items, page)));
}

void list_by_endpoint(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  AttemptQuery query = read_attempt_query(request, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  const std::string app_id = app_id_of(context, request.params["app"]);
  if (app_id.empty()) return respond(reply_not_found("Application"));
  const std::string endpoint_id = endpoint_id_of(context, app_id, request.params["ep"]);
  if (endpoint_id.empty()) return respond(reply_not_found("Endpoint"));
  filter_by_message(context, app_id, query);
  std::vector<Attempt> storage;
  auto page = context.attempts->list_by_endpoint(endpoint_id, query.list, query.filter, storage);
  std::vector<std::string> items;
  for (const Attempt* attempt : page.items) {
    std::string msg =
        query.with_msg ? message_out(context, app_id, attempt->msg_id, query.with_content) : "";
    items.push_back(attempt_json(*attempt, msg));
  }
  respond(reply_json(200, list_json(items, page)));
}

void resend(ApiContext& context, HttpRequest& request, Responder respond) {
  const std::string app_id = app_id_of(context, request.params["app"]);
  if (app_id.empty()) return respond(reply_not_found("Application"));
  const std::string msg_id = message_id_of(context, app_id, request.params["msg"]);
  if (msg_id.empty()) return respond(reply_not_found("Message"));
  const std::string endpoint_id = endpoint_id_of(context, app_id, request.params["ep"]);
  if (endpoint_id.empty()) return respond(reply_not_found("Endpoint"));
  if (context.redelivery && context.redelivery->resend) {
    context.redelivery->resend(endpoint_id, msg_id);
  }
  respond(reply_json(202, "{}"));
}

// RecoverIn: {"since": time, "until": optional time}.
void recover(ApiContext& context, HttpRequest& request, Responder respond) {
  auto body = read_json_body(request, respond);
  if (!body) return;
  ValidationItems errors;
  auto read_time = [&](const char* name, bool required) -> std::optional<std::int64_t> {
    const json::value* value = body->is_object() ? body->get_object().if_contains(name) : nullptr;
    if (!value || value->is_null()) {
      if (required) errors.push_back({{"body", name}, "field required", "value_error.missing"});
      return std::nullopt;
    }
    auto ms = value->is_string() ? parse_rfc3339(value->get_string()) : std::nullopt;
    if (!ms) errors.push_back({{"body", name}, "invalid datetime format", "value_error.datetime"});
    return ms;
  };
  if (!body->is_object()) {
    errors.push_back({{"body"}, "value is not a valid dict", "type_error.dict"});
    return respond(reply_validation(errors));
  }
  auto since = read_time("since", true);
  auto until = read_time("until", false);
  const std::int64_t now = now_unix_ms();
  if (since && *since < now - kRecoverWindowMs) {
    errors.push_back(
        {{"body", "since"}, "Cannot recover messages more than 14 days old.", "value_error"});
  }
  if (!errors.empty()) return respond(reply_validation(errors));
  const std::string app_id = app_id_of(context, request.params["app"]);
  if (app_id.empty()) return respond(reply_not_found("Application"));
  const std::string endpoint_id = endpoint_id_of(context, app_id, request.params["ep"]);
  if (endpoint_id.empty()) return respond(reply_not_found("Endpoint"));
  if (context.redelivery && context.redelivery->recover) {
    context.redelivery->recover(endpoint_id, *since, until);
  }
  // RecoverOut: the background task, as svix-server reports it.
  json::object out{{"id", new_id("qtask_")},
                   {"status", "running"},
                   {"task", "endpoint.recover"},
                   {"updatedAt", format_rfc3339(now)}};
  respond(reply_json(202, json::serialize(out)));
}

}  // namespace

void add_attempt_routes(Router& router, ApiContext& context) {
  ApiContext* c = &context;
  add_route(router, context, "GET", "/api/v1/app/{app}/attempt/msg/{msg}",
            [c](HttpRequest& r, Responder respond) { list_by_message(*c, r, std::move(respond)); });
  add_route(
      router, context, "GET", "/api/v1/app/{app}/attempt/endpoint/{ep}",
      [c](HttpRequest& r, Responder respond) { list_by_endpoint(*c, r, std::move(respond)); });
  add_route(router, context, "POST", "/api/v1/app/{app}/msg/{msg}/endpoint/{ep}/resend",
            [c](HttpRequest& r, Responder respond) { resend(*c, r, std::move(respond)); });
  add_route(router, context, "POST", "/api/v1/app/{app}/endpoint/{ep}/recover",
            [c](HttpRequest& r, Responder respond) { recover(*c, r, std::move(respond)); });
}

}  // namespace hookd::api
