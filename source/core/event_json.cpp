// Writing events as JSON: the body every webhook endpoint receives.
#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "hookd/core/event.h"

namespace hookd {
namespace {

// Writes `text` as a JSON string. Ids, types and timestamps that passed
// validation need no escaping; the slow path is for hand-built Events.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string to_json(const Event& event) {
  std::string out;
  out.reserve(event.id.size() + event.type.size() + event.timestamp.size() +
              event.payload_json.size() + 48);
  out += "{\"id\":";
  append_json_string(out, event.id);
  out += ",\"type\":";
  append_json_string(out, event.type);
  out += ",\"timestamp\":";
  append_json_string(out, event.timestamp);
  out += ",\"payload\":";
  // An Event built by hand may carry no payload; keep the output valid JSON.
  out += event.payload_json.empty() ? std::string_view("{}") : std::string_view(event.payload_json);
  out += '}';
  return out;
}

std::string encode_message_fields(const MessageFields& fields) {
  std::string out = "{\"app\":";
  append_json_string(out, fields.app_id);
  out += ",\"eventId\":";
  append_json_string(out, fields.event_id);
  out += ",\"channels\":[";
  for (std::size_t i = 0; i < fields.channels.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, fields.channels[i]);
  }
  out += "]}";
  return out;
}

std::optional<MessageFields> decode_message_fields(std::string_view text) {
  namespace json = boost::json;
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !root.is_object()) return std::nullopt;
  const json::object& object = root.get_object();
  const json::value* app = object.if_contains("app");
  const json::value* event_id = object.if_contains("eventId");
  const json::value* channels = object.if_contains("channels");
  if (!app || !app->is_string() || !event_id || !event_id->is_string() || !channels ||
      !channels->is_array()) {
    return std::nullopt;
  }
  MessageFields fields;
  fields.app_id = json::string_view(app->get_string());
  fields.event_id = json::string_view(event_id->get_string());
  for (const json::value& channel : channels->get_array()) {
    if (!channel.is_string()) return std::nullopt;
    fields.channels.emplace_back(json::string_view(channel.get_string()));
  }
  return fields;
}

}  // namespace hookd
