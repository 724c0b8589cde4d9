#include "hookd/api/route_support.h"

#include <boost/json.hpp>
#include <boost/url/parse_query.hpp>

#include "hookd/api/wire.h"
#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxLimit = 250;

void authorised(ApiContext& context, const Handler& handler, HttpRequest& request,
                Responder respond) {
  const std::string_view authorization = request.header("authorization");
  const std::int64_t now_ms = now_unix_ms();  // one clock read for the token and the key
  AuthDecision decision = context.auth.check(authorization, now_ms / 1000, request.connection_memo);
  if (decision.outcome == AuthDecision::Outcome::forbidden) {
    return respond(reply_error(403, "forbidden", decision.detail));
  }
  if (decision.outcome == AuthDecision::Outcome::unauthorized) {
    return respond(reply_error(401, "authentication_failed", decision.detail));
  }
  if (!decision.app_id.empty()) {
    auto app = request.params.find("app");
    bool own = app != request.params.end() && context.store.read([&](const Model& model) {
      const Application* found = model.find_app(app->second);
      return found && found->id == decision.app_id;
    });
    if (!own) {
      return respond(
          reply_error(403, "insufficient_access", "Insufficient access for the given operation."));
    }
  }
  std::string_view key = request.header("idempotency-key");
  if (request.method == "POST" && !key.empty()) {
    IdempotencyCache::Digest digest = IdempotencyCache::key_of(request, key, authorization);
    // On a claim, `respond` becomes one that keeps the answer for replays.
    if (!context.idempotency.admit(digest, now_ms, respond)) return;
  }
  handler(request, std::move(respond));
}

}  // namespace

void add_route(Router& router, ApiContext& context, const std::string& method,
               const std::string& pattern, Handler handler) {
  auto shared = std::make_shared<Handler>(std::move(handler));
  auto wrapped = [&context, shared](HttpRequest& request, Responder respond) {
    authorised(context, *shared, request, std::move(respond));
  };
  router.add(method, pattern, wrapped);
  router.add(method, pattern + "/", wrapped);
}

HttpResponse reply_json(int status, std::string body) {
  return HttpResponse::json(status, std::move(body));
}

HttpResponse reply_error(int status, std::string_view code, std::string_view detail) {
  return HttpResponse::json(status, error_json(code, detail));
}

HttpResponse reply_validation(const ValidationItems& items) {
  return HttpResponse::json(422, validation_json(items));
}

HttpResponse reply_no_content() {
  HttpResponse response;
  response.status = 204;
  response.content_type = {};
  return response;
}

HttpResponse reply_not_found(std::string_view what) {
  return reply_error(404, "not_found", std::string(what) + " not found");
}

HttpResponse reply_change(int status, std::string body) {
  if (status == 204) return reply_no_content();
  return HttpResponse::json(status, std::move(body));
}

std::optional<json::value> read_json_body(const HttpRequest& request, Responder& respond) {
  return read_json_body(request, respond, {});
}

std::optional<json::value> read_json_body(const HttpRequest& request, Responder& respond,
                                          json::storage_ptr storage) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return json::value(nullptr, storage);
  }
  json::parse_options options;
  options.max_depth = kMaxBodyDepth;
  boost::system::error_code ec;
  json::value value = json::parse(request.body, ec, std::move(storage), options);
  if (ec) {
    respond(reply_error(400, "bad_request", "body is not valid JSON: " + ec.message()));
    return std::nullopt;
  }
  return value;
}

Query parse_query(std::string_view raw) {
  Query out;
  auto params = boost::urls::parse_query(raw);
  if (!params) return out;
  for (auto param : *params) {
    out.emplace(param.key, param.has_value ? param.value : std::string());
  }
  return out;
}

std::optional<std::string> query_value(const Query& query, const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

ListQuery read_list_query(const Query& query, bool descending_by_default, ValidationItems& errors) {
  ListQuery out;
  out.descending = descending_by_default;
  if (auto limit = query_value(query, "limit")) {
    std::size_t value = 0;
    bool digits = !limit->empty() && limit->size() <= 6 &&
                  limit->find_first_not_of("0123456789") == std::string::npos;
    if (digits) value = std::stoul(*limit);
    if (!digits || value > kMaxLimit) {
      errors.push_back(
          {{"query", "limit"}, "Given limit must be a number from 1 to 250", "value_error"});
    } else {
      // Svix answers limit=0 with one page of nothing but `done: false`; one
      // item is the least a caller can page through.
      out.limit = std::max<std::size_t>(1, value);
    }
  }
  if (auto iterator = query_value(query, "iterator"); iterator && !iterator->empty()) {
    std::string_view key = *iterator;
    if (key.front() == '-') key.remove_prefix(1);
    if (!valid_limited_string(key)) {
      errors.push_back({{"query", "iterator"}, "Invalid iterator", "value_error"});
    } else {
      out.iterator = *iterator;
    }
  }
  if (auto order = query_value(query, "order")) {
    if (*order == "ascending") {
      out.descending = false;
    } else if (*order == "descending") {
      out.descending = true;
    } else {
      errors.push_back(
          {{"query", "order"}, "order must be ascending or descending", "value_error"});
    }
  }
  return out;
}

bool read_query_bool(const Query& query, const std::string& name, bool fallback,
                     ValidationItems& errors) {
  auto value = query_value(query, name);
  if (!value) return fallback;
  if (*value == "true" || *value == "1") return true;
  if (*value == "false" || *value == "0") return false;
  errors.push_back({{"query", name}, "value could not be parsed to a boolean", "type_error.bool"});
  return fallback;
}

std::optional<std::int64_t> read_query_time(const Query& query, const std::string& name,
                                            ValidationItems& errors) {
  auto value = query_value(query, name);
  if (!value) return std::nullopt;
  auto ms = parse_rfc3339(*value);
  if (!ms) {
    errors.push_back({{"query", name}, "not an RFC 3339 date-time", "value_error.datetime"});
  }
  return ms;
}

MessageFilter read_message_filter(const Query& query, ValidationItems& errors) {
  MessageFilter filter;
  for (auto [it, end] = query.equal_range("event_types"); it != end; ++it) {
    std::string_view rest = it->second;
    while (!rest.empty()) {
      std::size_t comma = rest.find(',');
      std::string name(rest.substr(0, comma));
      if (!name.empty()) filter.event_types.insert(name);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  for (const auto& [key, value] : query) {
    if (key.rfind("event_types[", 0) == 0 && key.back() == ']') filter.event_types.insert(value);
  }
  if (auto channel = query_value(query, "channel")) {
    if (!valid_limited_string(*channel, 128)) {
      errors.push_back({{"query", "channel"}, "Invalid channel", "value_error"});
    }
    filter.channel = *channel;
  }
  return filter;
}

}  // namespace hookd::api
