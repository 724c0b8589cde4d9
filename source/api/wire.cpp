#include "hookd/api/wire.h"

#include <boost/json.hpp>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "hookd/api/json_fields.h"

#include "hookd/core/rfc3339.h"
#include "hookd/core/text.h"
#include "hookd/core/utf8.h"

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

namespace {

// The fields a MessageOut shows, wherever they are kept.
struct MessageView {
  std::string_view id, event_id, event_type, timestamp;
  const std::vector<std::string>& channels;
};

std::string message_out(const MessageView& message, std::string_view payload_json,
                        MessageFieldsText fields) {
  // Written out by hand, sized first and then written in place: every
  // message create answers with one, and the payload is compact JSON
  // already (validated on the way in, or the journal's copy), spliced in as
  // it is rather than parsed and written again.
  static constexpr std::string_view kEventId = "{\"eventId\":", kEventType = ",\"eventType\":",
                                    kPayload = ",\"payload\":", kChannels = ",\"channels\":",
                                    kId = ",\"id\":", kTimestamp = ",\"timestamp\":",
                                    kNull = "null", kExpired = R"({"expired":true})";
  const std::string_view payload = payload_json.empty() ? kExpired : payload_json;
  // Each field is tested for escapes once, not once to size and once to
  // write: the fields are ids, names and a time, which never need any.
  bool plain = fields == MessageFieldsText::plain ||
               (!json_needs_escaping(message.event_type) && !json_needs_escaping(message.id) &&
                !json_needs_escaping(message.timestamp) && !json_needs_escaping(message.event_id));
  if (fields != MessageFieldsText::plain) {
    for (const std::string& channel : message.channels)
      plain = plain && !json_needs_escaping(channel);
  }
  auto size_of = [plain](std::string_view text) {
    return plain ? text.size() + 2 : json_quoted_size(text);
  };
  auto write = [plain](char* at, std::string_view text) {
    if (!plain) return write_json_quoted(at, text);
    *at++ = '"';
    at = write_bytes(at, text);
    *at++ = '"';
    return at;
  };
  std::size_t size = kEventId.size() + kEventType.size() + kPayload.size() + kChannels.size() +
                     kId.size() + kTimestamp.size() + 1 + payload.size() +
                     size_of(message.event_type) + size_of(message.id) + size_of(message.timestamp);
  size += message.event_id.empty() ? kNull.size() : size_of(message.event_id);
  // Channels: null, or '[', the names with ',' between them, ']'.
  size += message.channels.empty() ? kNull.size() : 1 + message.channels.size();
  for (const std::string& channel : message.channels)
    size += size_of(channel);
  std::string out(size, '\0');
  char* at = out.data();
  at = write_bytes(at, kEventId);
  at = message.event_id.empty() ? write_bytes(at, kNull) : write(at, message.event_id);
  at = write(write_bytes(at, kEventType), message.event_type);
  at = write_bytes(write_bytes(at, kPayload), payload);
  at = write_bytes(at, kChannels);
  if (message.channels.empty()) at = write_bytes(at, kNull);
  for (std::size_t i = 0; i < message.channels.size(); ++i) {
    *at++ = i == 0 ? '[' : ',';
    at = write(at, message.channels[i]);
  }
  if (!message.channels.empty()) *at++ = ']';
  at = write(write_bytes(at, kId), message.id);
  at = write(write_bytes(at, kTimestamp), message.timestamp);
  *at++ = '}';
  assert(at == out.data() + out.size());  // the sums above are exact
  return out;
}

}  // namespace

std::string message_json(const MessageEntry& message, std::string_view payload_json) {
  return message_out(
      {message.id, message.event_id, message.event_type, message.timestamp, message.channels},
      payload_json, MessageFieldsText::checked);
}

std::string message_json(const IndexedMessage& message, std::string_view payload_json,
                         MessageFieldsText fields) {
  return message_out({message.id(), message.event_id(), message.event_type(), message.timestamp(),
                      message.channels()},
                     payload_json, fields);
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
  // A detail often echoes request bytes (a percent-decoded path, a field's
  // value); Boost.JSON writes strings as given, so invalid UTF-8 would make
  // the answer invalid JSON.
  return json::serialize(json::object{{"code", code}, {"detail", valid_utf8(detail)}});
}

std::string validation_json(const ValidationItems& items) {
  json::array detail;
  for (const ValidationItem& item : items) {
    json::array loc;
    for (const auto& part : item.loc)
      loc.emplace_back(valid_utf8(part));
    detail.emplace_back(
        json::object{{"loc", std::move(loc)}, {"msg", valid_utf8(item.msg)}, {"type", item.type}});
  }
  return json::serialize(json::object{{"code", "validation"}, {"detail", std::move(detail)}});
}

}  // namespace hookd::api
