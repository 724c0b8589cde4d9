#include "hookd/hooks/hoop_payload.h"

#include <boost/json.hpp>

#include "hookd/core/signature.h"
#include "hookd/core/utf8.h"

namespace hookd {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

json::value field_or_null(const json::object& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? json::value(nullptr) : it->value();
}

// Hoop sends the user's input base64-encoded; its hooks see the text. Input
// that is not valid base64 is passed as sent rather than dropped; decoded
// bytes that are not UTF-8 (binary, Latin-1) become U+FFFD, as in Hoop's own
// hook payloads (Go's encoding/json), so the payload stays valid JSON.
json::value decoded_input(const json::object& webhook) {
  auto it = webhook.find("input");
  if (it == webhook.end() || !it->value().is_string()) return "";
  const json::string& encoded = it->value().as_string();
  auto decoded = base64_decode(std::string_view(encoded.data(), encoded.size()));
  return decoded ? json::value(json::string(valid_utf8(*decoded))) : it->value();
}

json::value connection_envs(const json::object& webhook) {
  auto it = webhook.find("connection_envs");
  if (it == webhook.end() || it->value().is_null()) return nullptr;
  if (it->value().is_object()) return it->value();
  json::object envs;
  if (it->value().is_array()) {
    for (const json::value& name : it->value().as_array()) {
      if (name.is_string()) envs[name.as_string()] = "";
    }
  }
  return envs;
}

json::object session_open(const json::object& webhook) {
  json::object open;
  open["verb"] = field_or_null(webhook, "verb");
  open["connection_name"] = field_or_null(webhook, "connection");
  open["connection_type"] = field_or_null(webhook, "connection_type");
  open["connection_subtype"] = field_or_null(webhook, "connection_subtype");
  open["connection_envs"] = connection_envs(webhook);
  open["connection_reviewers"] = field_or_null(webhook, "connection_reviewers");
  open["input"] = decoded_input(webhook);
  open["user_email"] = field_or_null(webhook, "user_email");
  return open;
}

json::object session_close(const json::object& webhook) {
  json::object close;
  close["exit_code"] = field_or_null(webhook, "exit_code");
  close["output"] = field_or_null(webhook, "exit_err");
  return close;
}

}  // namespace

bool is_hoop_webhook_payload(std::string_view payload_json) {
  auto object = parse_object(payload_json);
  if (!object) return false;
  auto it = object->find("event_type");
  return it != object->end() && it->value().is_string();
}

std::optional<std::string> hoop_runbook_payload(std::string_view payload_json,
                                                std::string_view event_id) {
  auto webhook = parse_object(payload_json);
  if (!webhook) return std::nullopt;
  auto type = webhook->find("event_type");
  if (type == webhook->end() || !type->value().is_string()) return std::nullopt;
  const json::string& name = type->value().as_string();
  const bool open = name == "session.open";
  if (!open && name != "session.close") return std::nullopt;

  json::object hook;
  hook["id"] = json::string(event_id);
  hook["sid"] = field_or_null(*webhook, "id");
  hook["command"] = field_or_null(*webhook, "command");
  hook["input_file"] = "";
  hook["event_session_open"] = open ? json::value(session_open(*webhook)) : nullptr;
  hook["event_session_close"] = open ? nullptr : json::value(session_close(*webhook));
  return json::serialize(hook);
}

std::optional<std::string> hoop_session_id(std::string_view payload_json) {
  auto object = parse_object(payload_json);
  if (!object) return std::nullopt;
  auto type = object->find("event_type");
  const bool webhook = type != object->end() && type->value().is_string();
  auto sid = object->find(webhook ? "id" : "sid");
  if (sid == object->end() || !sid->value().is_string()) return std::nullopt;
  return std::string(sid->value().get_string());
}

std::string hook_payload_for(HookPayloadMode mode, std::string_view payload_json,
                             std::string_view event_id) {
  if (mode == HookPayloadMode::hoop) {
    if (auto mapped = hoop_runbook_payload(payload_json, event_id)) return *mapped;
  }
  return std::string(payload_json);
}

}  // namespace hookd
