#include "hookd/hooks/hoop_payload.h"

#include <boost/json.hpp>

#include "hookd/core/signature.h"

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

// The length of the UTF-8 sequence `s` starts with (RFC 3629: no overlong
// forms, surrogates or code points past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Each byte that is not part of valid UTF-8 becomes U+FFFD, as Go's
// encoding/json (which Hoop marshals hook payloads with) writes it: the
// payload stays valid JSON when the input was binary or Latin-1.
std::string valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  while (!bytes.empty()) {
    std::size_t length = utf8_sequence_length(bytes);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      length = 1;
    } else {
      out.append(bytes.substr(0, length));
    }
    bytes.remove_prefix(length);
  }
  return out;
}

// Hoop sends the user's input base64-encoded; its hooks see the text. Input
// that is not valid base64 is passed as sent rather than dropped.
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

std::string hook_payload_for(HookPayloadMode mode, std::string_view payload_json,
                             std::string_view event_id) {
  if (mode == HookPayloadMode::hoop) {
    if (auto mapped = hoop_runbook_payload(payload_json, event_id)) return *mapped;
  }
  return std::string(payload_json);
}

}  // namespace hookd
