#include "hookd/delivery/cef_format.h"

#include <boost/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "hookd/core/signature.h"

namespace hookd {

namespace json = boost::json;

namespace {

// ArcSight's own length for msg; longer values are cut at a character boundary.
constexpr std::size_t kMaxValueBytes = 1023;

std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

const json::object* object_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

std::optional<std::string> text_at(const json::object* o, std::string_view key) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  if (v.is_uint64()) return std::to_string(v.as_uint64());
  return std::nullopt;
}

std::optional<std::string> joined_at(const json::object* o, std::string_view key,
                                     std::string_view separator) {
  if (!o) return std::nullopt;
  auto it = o->find(key);
  if (it == o->end() || !it->value().is_array()) return std::nullopt;
  std::string out;
  for (const auto& item : it->value().as_array()) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += separator;
    out += item.as_string();
  }
  if (out.empty()) return std::nullopt;
  return out;
}

template <typename... Alternatives>
std::optional<std::string> first_of(std::optional<std::string> a, Alternatives... rest) {
  if (a && !a->empty()) return a;
  if constexpr (sizeof...(rest) > 0) {
    return first_of(std::move(rest)...);
  } else {
    return std::nullopt;
  }
}

// The session fields of either payload shape.
struct SessionFields {
  std::optional<std::string> user_email, user_id, verb, connection, connection_type, session_id,
      exit_code, output, input, command, review_status, reviewers;
};

SessionFields session_fields(const json::object* payload) {
  SessionFields f;
  if (!payload) return f;
  // The runbook hook payload nests each event's fields.
  const json::object* open = object_at(*payload, "event_session_open");
  const json::object* close = object_at(*payload, "event_session_close");
  // The webhook payload is flat and names its type; its "id" is the session.
  const bool webhook = payload->contains("event_type");
  f.user_email = first_of(text_at(open, "user_email"), text_at(payload, "user_email"));
  f.user_id = text_at(payload, "user_id");
  f.verb = first_of(text_at(open, "verb"), text_at(payload, "verb"));
  f.connection = first_of(text_at(open, "connection_name"), text_at(payload, "connection"));
  f.connection_type =
      first_of(text_at(open, "connection_type"), text_at(payload, "connection_type"));
  f.session_id = first_of(text_at(payload, "sid"), webhook ? text_at(payload, "id") : std::nullopt);
  f.exit_code = first_of(text_at(close, "exit_code"), text_at(payload, "exit_code"));
  f.output = first_of(text_at(close, "output"), text_at(payload, "exit_err"));
  f.input = text_at(open, "input");
  if (!f.input && webhook) {
    // Webhooks carry the input base64-encoded.
    if (auto encoded = text_at(payload, "input")) f.input = base64_decode(*encoded);
  }
  f.command = joined_at(payload, "command", " ");
  f.review_status = text_at(object_at(*payload, "review"), "status");
  f.reviewers = joined_at(open, "connection_reviewers", ",");
  return f;
}

void add(std::string& ext, std::string_view key, const std::optional<std::string>& value) {
  if (!value || value->empty()) return;
  if (!ext.empty()) ext += ' ';
  ext += key;
  ext += '=';
  ext += cef_extension_escape(utf8_prefix(*value, kMaxValueBytes));
}

void add_custom(std::string& ext, int n, std::string_view label,
                const std::optional<std::string>& value) {
  if (!value || value->empty()) return;
  const std::string key = "cs" + std::to_string(n);
  add(ext, key + "Label", std::string(label));
  add(ext, key, value);
}

}  // namespace

std::string cef_header_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '|') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

std::string cef_extension_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '=') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::string cef_message(std::string_view event_json, std::int64_t time_ms,
                        std::string_view version) {
  boost::system::error_code ec;
  json::value parsed = json::parse(event_json, ec);
  const json::object* event = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
  std::string id = text_at(event, "id").value_or("");
  std::string type = text_at(event, "type").value_or("event");
  const json::object* payload = event ? object_at(*event, "payload") : nullptr;
  SessionFields f = session_fields(payload);

  const bool open = type == "session.open";
  const bool close = type == "session.close";
  // Low for the session record itself; medium when a session ended in error.
  int severity = 3;
  if (close && f.exit_code && *f.exit_code != "0") severity = 5;
  std::string name = type;
  for (char& c : name) {
    if (c == '.') c = ' ';
  }

  std::string ext;
  add(ext, "rt", std::to_string(time_ms));
  add(ext, "externalId", id);
  add(ext, "act", open && f.verb ? f.verb : std::optional<std::string>(type));
  add(ext, "suser", f.user_email);
  add(ext, "suid", f.user_id);
  add(ext, "dhost", f.connection);
  if (close) add(ext, "outcome", f.exit_code);
  add(ext, "msg", open ? f.input : close ? f.output : std::nullopt);
  add_custom(ext, 1, "sessionId", f.session_id);
  add_custom(ext, 2, "connectionType", f.connection_type);
  add_custom(ext, 3, "command", f.command);
  add_custom(ext, 4, "reviewStatus", f.review_status);
  add_custom(ext, 5, "connectionReviewers", f.reviewers);
  add_custom(ext, 6, "eventType", type);

  std::string out = "CEF:0|hoop.dev|hookd|";
  out += cef_header_escape(version);
  out += '|';
  out += cef_header_escape(type);
  out += '|';
  out += cef_header_escape(name);
  out += '|';
  out += std::to_string(severity);
  out += '|';
  out += ext;
  return out;
}

}  // namespace hookd
