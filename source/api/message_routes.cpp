// /api/v1/app/{app}/msg: create (a journal event, 202 once durable), list
// (newest first), get by id or eventId.
#include <boost/json.hpp>

#include "hookd/api/ids.h"
#include "hookd/api/message_scan.h"
#include "hookd/api/route_support.h"
#include "hookd/api/wire.h"
#include "hookd/core/rfc3339.h"
#include "hookd/server/append_status.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

std::string payload_of(Journal& journal, const MessageEntry& entry) {
  std::optional<StoredEvent> stored = journal.lookup(entry.id);
  return stored ? stored->event.payload_json : std::string();  // "" renders {"expired":true}
}

// Appends the message for `app_id` and answers once it is durable. The
// payload and the other fields move out of `input` into the event; the
// index entry copies the small ones into one buffer.
void append_message(ApiContext& context, std::string app_id, MessageInput& input, bool with_content,
                    Responder respond) {
  if (!context.messages.reserve(app_id, input.event_id)) {
    return respond(reply_error(409, "conflict", "A message with this eventId already exists"));
  }
  // Made in its place in the vector the journal takes: no move of the
  // whole event.
  std::vector<Event> events(1);
  Event& event = events.front();
  const std::int64_t now = now_unix_ms();  // one clock read for the id and the time
  event.id = new_id("msg_", now);
  event.arrival_unix_ms = now;
  event.timestamp = format_rfc3339(now);
  std::vector<std::string> channels =
      std::move(input.channels).value_or(std::vector<std::string>{});
  // The index's copy of the small fields, in one buffer; the event takes
  // the strings themselves.
  IndexedMessage entry(event.id, app_id, input.event_id, input.event_type, channels,
                       event.timestamp);
  event.type = std::move(input.event_type);
  event.message = MessageFields{std::move(app_id), std::move(input.event_id), std::move(channels)};
  // The answer is built here, on the reactor: the journal runs the callback
  // on its own thread between group commits.
  // Every field was validated (or made here): no escape test.
  std::string body =
      message_json(entry, with_content ? input.payload_json : "{}", MessageFieldsText::plain);
  event.payload_json = std::move(input.payload_json);
  MessageIndex* messages = &context.messages;
  const int retry_after = context.retry_after_seconds;
  context.journal.append(
      std::move(events), [messages, entry = std::move(entry), body = std::move(body), retry_after,
                          respond = std::move(respond)](AppendResult result) mutable {
        std::optional<AppendRefusal> refusal = append_refusal(result);
        if (!refusal) {
          messages->add(std::move(entry));
          return respond(reply_json(202, std::move(body)));
        }
        messages->release(std::string(entry.app_id()), std::string(entry.event_id()));
        HttpResponse response =
            reply_error(refusal->status, refusal->status == 500 ? "server_error" : "unavailable",
                        refusal->reason);
        if (refusal->retry_later) {
          response.headers.emplace_back("Retry-After",
                                        std::to_string(refusal->retry_after_seconds(retry_after)));
        }
        respond(std::move(response));
      });
}

void create(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  bool with_content = request.query.empty() ||
                      read_query_bool(parse_query(request.query), "with_content", true, errors);
  MessageInput input;  // on the stack: only an implicit creation keeps it longer
  // Most creates are read in one pass; the tree reads (and answers) the rest.
  if (!errors.empty() || !scan_message(request.body, input)) {
    // The body lives for this call only: what the message keeps is copied out.
    unsigned char arena_buffer[4096];
    json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
    auto body = read_json_body(request, respond, json::storage_ptr(&arena));
    if (!body) return;
    auto read = read_message(*body, context.store.limits(), errors);
    if (!read || !errors.empty()) return respond(reply_validation(errors));
    input = std::move(*read);
  }
  const std::string path_app = request.params["app"];
  std::string app_id = context.store.app_id_of(path_app);
  if (!app_id.empty()) {
    return append_message(context, std::move(app_id), input, with_content, std::move(respond));
  }
  if (!input.application) return respond(reply_not_found("Application"));

  // Implicit creation: the body's application, whose uid must be the path's.
  auto kept = std::make_shared<MessageInput>(std::move(input));
  const ApplicationInput& app_in = *kept->application;
  if (!app_in.uid.has() || app_in.uid.value != path_app) {
    ValidationItems items{
        {{"body", "application", "uid"},
         app_in.uid.has() ? "Application UID in the path and body must match"
                          : "Application UID not set in body",
         app_in.uid.has() ? "application_uid_mismatch" : "application_uid_missing"}};
    return respond(reply_validation(items));
  }
  auto created = std::make_shared<std::string>();
  ApiStore& store = context.store;
  ApiContext* c = &context;
  store.change(
      [&](Model& model) { return create_application(store, model, app_in, true, created.get()); },
      [c, created, kept, with_content, respond](int status, std::string body) {
        if (status != 200 && status != 201) return respond(reply_change(status, std::move(body)));
        append_message(*c, *created, *kept, with_content, respond);
      });
}

void list(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  Query query = parse_query(request.query);
  ListQuery list = read_list_query(query, true, errors);
  bool with_content = read_query_bool(query, "with_content", true, errors);
  auto before = read_query_time(query, "before", errors);
  auto after = read_query_time(query, "after", errors);
  MessageFilter filter = read_message_filter(query, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  if (before) list.before_key = id_at("msg_", *before, false);
  if (after) list.after_key = id_at("msg_", *after, true);

  auto app_id = context.store.read([&](const Model& model) -> std::string {
    const Application* app = model.find_app(request.params["app"]);
    return app ? app->id : std::string();
  });
  if (app_id.empty()) return respond(reply_not_found("Application"));
  std::vector<MessageEntry> storage;
  auto page = context.messages.list(app_id, list, filter, storage);
  std::vector<std::string> items;
  for (const MessageEntry* entry : page.items) {
    items.push_back(
        message_json(*entry, with_content ? payload_of(context.journal, *entry) : "{}"));
  }
  respond(reply_json(200, list_json(items, page)));
}

void get(ApiContext& context, HttpRequest& request, Responder respond) {
  ValidationItems errors;
  bool with_content = read_query_bool(parse_query(request.query), "with_content", true, errors);
  if (!errors.empty()) return respond(reply_validation(errors));
  auto app_id = context.store.read([&](const Model& model) -> std::string {
    const Application* app = model.find_app(request.params["app"]);
    return app ? app->id : std::string();
  });
  if (app_id.empty()) return respond(reply_not_found("Application"));
  auto entry = context.messages.find(app_id, request.params["msg"]);
  if (!entry) return respond(reply_not_found("Message"));
  respond(reply_json(
      200, message_json(*entry, with_content ? payload_of(context.journal, *entry) : "{}")));
}

}  // namespace

void add_message_routes(Router& router, ApiContext& context) {
  ApiContext* c = &context;
  add_route(router, context, "POST", "/api/v1/app/{app}/msg",
            [c](HttpRequest& r, Responder respond) { create(*c, r, std::move(respond)); });
  add_route(router, context, "GET", "/api/v1/app/{app}/msg",
            [c](HttpRequest& r, Responder respond) { list(*c, r, std::move(respond)); });
  add_route(router, context, "GET", "/api/v1/app/{app}/msg/{msg}",
            [c](HttpRequest& r, Responder respond) { get(*c, r, std::move(respond)); });
}

}  // namespace hookd::api
