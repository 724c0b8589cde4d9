#include "hookd/api/wire.h"

#include <boost/json.hpp>

#include "hookd/api/json_fields.h"

#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

json::value optional_string(const std::string& value) {
  return value.empty() ? json::value(nullptr) : json::value(value);
}

json::value parse_or_null(std::string_view text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  return ec ? json::value(nullptr) : value;
}

}  // namespace

std::string application_json(const Application& app) {
  json::object o;
  if (!app.uid.empty()) o["uid"] = app.uid;
  o["name"] = app.name;
  if (app.rate_limit) o["rateLimit"] = *app.rate_limit;
  o["throttleRate"] = optional_int(app.rate_limit);
  o["id"] = app.id;
  o["createdAt"] = format_rfc3339(app.created_ms);
  o["updatedAt"] = format_rfc3339(app.updated_ms);
  o["metadata"] = string_map(app.metadata);
  return json::serialize(o);
}

std::string event_type_json(const EventType& type, bool with_schemas) {
  json::object o;
  o["name"] = type.name;
  o["description"] = type.description;
  o["archived"] = type.archived;
  o["deprecated"] = type.deprecated;
  o["schemas"] = with_schemas ? parse_or_null(type.schemas_json) : json::value(nullptr);
  o["createdAt"] = format_rfc3339(type.created_ms);
  o["updatedAt"] = format_rfc3339(type.updated_ms);
  o["featureFlag"] = type.feature_flag ? json::value(*type.feature_flag) : json::value(nullptr);
  o["featureFlags"] = optional_strings(type.feature_flags);
  o["groupName"] = type.group_name ? json::value(*type.group_name) : json::value(nullptr);
  return json::serialize(o);
}

std::string endpoint_json(const Endpoint& endpoint) {
  json::object o;
  o["id"] = endpoint.id;
  o["description"] = endpoint.description;
  o["rateLimit"] = optional_int(endpoint.rate_limit);
  o["throttleRate"] = optional_int(endpoint.rate_limit);
  o["uid"] = optional_string(endpoint.uid);
  o["url"] = endpoint.url;
  o["version"] = endpoint.version;
  o["disabled"] = endpoint.disabled;
  // Svix writes the filter under both names (eventTypes is the current one).
  o["eventTypes"] = optional_strings(endpoint.filter_types);
  o["filterTypes"] = optional_strings(endpoint.filter_types);
  o["channels"] = optional_strings(endpoint.channels);
  o["createdAt"] = format_rfc3339(endpoint.created_ms);
  o["updatedAt"] = format_rfc3339(endpoint.updated_ms);
  o["metadata"] = string_map(endpoint.metadata);
  return json::serialize(o);
}

std::string message_json(const MessageEntry& message, std::string_view payload_json) {
  json::object o;
  o["eventId"] = optional_string(message.event_id);
  o["eventType"] = message.event_type;
  o["payload"] = parse_or_null(payload_json);
  if (o["payload"].is_null()) o["payload"] = json::object{{"expired", true}};
  if (message.channels.empty()) {
    o["channels"] = nullptr;
  } else {
    o["channels"] = optional_strings(message.channels);
  }
  o["id"] = message.id;
  o["timestamp"] = message.timestamp;
  return json::serialize(o);
}

std::string endpoint_headers_json(const Endpoint& endpoint) {
  json::object headers;
  json::array sensitive;
  for (const auto& [name, value] : endpoint.headers) {
    if (sensitive_header(name)) {
      sensitive.emplace_back(name);
    } else {
      headers[name] = value;
    }
  }
  return json::serialize(json::object{{"headers", std::move(headers)}, {"sensitive", sensitive}});
}

std::string list_json(const std::vector<std::string>& items, const std::optional<std::string>& it,
                      const std::optional<std::string>& prev, bool done) {
  std::string out = "{\"data\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i];
  }
  out += "],\"iterator\":";
  out += it ? json::serialize(json::value(*it)) : "null";
  out += ",\"prevIterator\":";
  out += prev ? json::serialize(json::value(*prev)) : "null";
  out += ",\"done\":";
  out += done ? "true" : "false";
  out += '}';
  return out;
}

std::string error_json(std::string_view code, std::string_view detail) {
  return json::serialize(json::object{{"code", code}, {"detail", detail}});
}

std::string validation_json(const ValidationItems& items) {
  json::array detail;
  for (const ValidationItem& item : items) {
    json::array loc;
    for (const auto& part : item.loc)
      loc.emplace_back(part);
    detail.emplace_back(
        json::object{{"loc", std::move(loc)}, {"msg", item.msg}, {"type", item.type}});
  }
  return json::serialize(json::object{{"code", "validation"}, {"detail", std::move(detail)}});
}

}  // namespace hookd::api
