// Writing events as JSON: the body every webhook endpoint receives.
#include <boost/json.hpp>
#include <cstring>
#include <string>
#include <string_view>

#include "hookd/core/event.h"
#include "hookd/core/message_fields_text.h"
#include "hookd/core/text.h"

namespace hookd {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.resize(start + json_quoted_size(text));
  write_json_quoted(out.data() + start, text);
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

std::size_t message_fields_size(const MessageFields& fields) {
  std::size_t size = sizeof R"({"app":,"eventId":,"channels":[]})" - 1 +
                     json_quoted_size(fields.app_id) + json_quoted_size(fields.event_id);
  for (std::size_t i = 0; i < fields.channels.size(); ++i)
    size += (i > 0 ? 1 : 0) + json_quoted_size(fields.channels[i]);
  return size;
}

char* write_message_fields(char* out, const MessageFields& fields) {
  out = write_bytes(out, R"({"app":)");
  out = write_json_quoted(out, fields.app_id);
  out = write_bytes(out, R"(,"eventId":)");
  out = write_json_quoted(out, fields.event_id);
  out = write_bytes(out, R"(,"channels":[)");
  for (std::size_t i = 0; i < fields.channels.size(); ++i) {
    if (i > 0) *out++ = ',';
    out = write_json_quoted(out, fields.channels[i]);
  }
  return write_bytes(out, "]}");
}

std::string encode_message_fields(const MessageFields& fields) {
  std::string out(message_fields_size(fields), '\0');
  write_message_fields(out.data(), fields);
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
