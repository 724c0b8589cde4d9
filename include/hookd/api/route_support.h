// What every Svix API route shares: the context it works on, registration
// with and without the trailing slash behind authentication and the
// idempotency cache, request bodies and query strings read by Svix's rules,
// and answers in Svix's shapes.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/api/auth.h"
#include "hookd/api/idempotency.h"
#include "hookd/api/message_index.h"
#include "hookd/api/pagination.h"
#include "hookd/api/store.h"
#include "hookd/api/validation.h"
#include "hookd/journal/journal.h"
#include "hookd/server/http_server.h"

namespace hookd::api {

class AttemptStore;

// What the attempts routes ask of delivery (main wires it to the API
// endpoints' workers). Both only queue work and return at once.
struct Redelivery {
  // A manual attempt of the message to the endpoint.
  std::function<void(const std::string& endpoint_id, const std::string& msg_id)> resend;
  // A manual attempt of each of the endpoint's failed messages created in
  // [since_ms, until_ms].
  std::function<void(const std::string& endpoint_id, std::int64_t since_ms,
                     std::optional<std::int64_t> until_ms)>
      recover;
};

struct ApiContext {
  ApiStore& store;
  MessageIndex& messages;
  Journal& journal;
  const Authenticator& auth;
  IdempotencyCache& idempotency;
  int retry_after_seconds = 1;
  AttemptStore* attempts = nullptr;
  const Redelivery* redelivery = nullptr;
};

// Registers `pattern` and `pattern + "/"` (Svix's v1 SDKs add the slash).
// The handler runs only for an authorised caller; an application-scoped
// token reaches only routes of its own application.
void add_route(Router& router, ApiContext& context, const std::string& method,
               const std::string& pattern, Handler handler);

HttpResponse reply_json(int status, std::string body);
HttpResponse reply_error(int status, std::string_view code, std::string_view detail);
HttpResponse reply_validation(const ValidationItems& items);
HttpResponse reply_no_content();
HttpResponse reply_not_found(std::string_view what);
// A store change's answer (status + JSON body, empty for 204).
HttpResponse reply_change(int status, std::string body);

// How deep a request body may nest (payloads nest; ingest allows the same).
constexpr std::size_t kMaxBodyDepth = 64;

// The JSON body; an empty body reads as null. nullopt: answered 400.
std::optional<boost::json::value> read_json_body(const HttpRequest& request, Responder& respond);
// The same, its values allocated from `storage` (a request's arena: the
// hot routes read the body once and copy out what they keep).
std::optional<boost::json::value> read_json_body(const HttpRequest& request, Responder& respond,
                                                 boost::json::storage_ptr storage);

// The decoded query string; repeated names keep every value.
using Query = std::multimap<std::string, std::string>;
Query parse_query(std::string_view raw);
std::optional<std::string> query_value(const Query& query, const std::string& name);

// limit (1..250, default 50), iterator and order; problems go to `errors`
// at ["query", name].
ListQuery read_list_query(const Query& query, bool descending_by_default, ValidationItems& errors);
bool read_query_bool(const Query& query, const std::string& name, bool fallback,
                     ValidationItems& errors);
std::optional<std::int64_t> read_query_time(const Query& query, const std::string& name,
                                            ValidationItems& errors);
// event_types (comma-separated, repeated, or event_types[i]) and channel.
MessageFilter read_message_filter(const Query& query, ValidationItems& errors);

// A new application from `input`, or (`get_if_exists`) the one already
// holding its uid: the change create and implicit creation share. Sets
// `*app_id` to the application's id when there is one.
Change create_application(ApiStore& store, Model& model, const ApplicationInput& input,
                          bool get_if_exists, std::string* app_id);

void add_application_routes(Router& router, ApiContext& context);
void add_event_type_routes(Router& router, ApiContext& context);
void add_endpoint_routes(Router& router, ApiContext& context);
void add_message_routes(Router& router, ApiContext& context);
void add_attempt_routes(Router& router, ApiContext& context);

}  // namespace hookd::api
