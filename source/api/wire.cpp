#include "hookd/api/wire.h"

#include <boost/json.hpp>
#include <cstdio>

#include "hookd/api/json_fields.h"

#include "hookd/core/rfc3339.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

json::value optional_string(const std::string& value) {
  return value.empty() ? json::value(nullptr) : json::value(value);
}

// `text` as a JSON string literal.
void append_quoted(std::string& out, std::string_view text) {
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied: copied a run at a time
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
      out += escaped;
    }
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
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
  // Written out by hand: every message create answers with one, and the
  // payload is compact JSON already (validated on the way in, or the
  // journal's copy), spliced in as it is rather than parsed and written again.
  std::string out;
  out.reserve(160 + payload_json.size());
  out += "{\"eventId\":";
  if (message.event_id.empty()) {
    out += "null";
  } else {
    append_quoted(out, message.event_id);
  }
  out += ",\"eventType\":";
  append_quoted(out, message.event_type);
  out += ",\"payload\":";
  out += payload_json.empty() ? std::string_view(R"({"expired":true})") : payload_json;
  out += ",\"channels\":";
  if (message.channels.empty()) {
    out += "null";
  } else {
    for (std::size_t i = 0; i < message.channels.size(); ++i) {
      out += i == 0 ? '[' : ',';
      append_quoted(out, message.channels[i]);
    }
    out += ']';
  }
  out += ",\"id\":";
  append_quoted(out, message.id);
  out += ",\"timestamp\":";
  append_quoted(out, message.timestamp);
  out += '}';
  return out;
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

std::string attempt_json(const Attempt& attempt, std::string_view message_json) {
  static const char* const kStatusText[] = {"success", "pending", "fail", "sending", "canceled"};
  json::object o;
  o["url"] = attempt.url;
  o["response"] = attempt.response;
  o["responseStatusCode"] = attempt.response_status_code;
  o["responseDurationMs"] = attempt.response_duration_ms;
  o["status"] = attempt.status;
  o["statusText"] =
      attempt.status >= 0 && attempt.status <= 4 ? kStatusText[attempt.status] : "fail";
  o["triggerType"] = attempt.trigger_type;
  o["msgId"] = attempt.msg_id;
  o["endpointId"] = attempt.endpoint_id;
  o["id"] = attempt.id;
  o["timestamp"] = format_rfc3339(attempt.timestamp_ms);
  if (!message_json.empty()) o["msg"] = parse_or_null(message_json);
  return json::serialize(o);
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
