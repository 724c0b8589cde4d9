#include "hookd/hooks/hook_finished.h"

#include <boost/json.hpp>

#include "hookd/core/sha256.h"
#include "hookd/hooks/hook_result_store.h"

namespace hookd {
namespace {

namespace json = boost::json;

json::value member_or_null(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr ? json::value(nullptr) : *value;
}

}  // namespace

bool is_hook_event(std::string_view type) {
  return type.starts_with("hook.");
}

std::string hook_finished_id(std::string_view event_id, std::int64_t arrival_unix_ms) {
  std::string key(event_id);
  key += '\n';
  key += std::to_string(arrival_unix_ms);
  const Sha256Digest digest = sha256(key);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "hookfin_";
  for (unsigned int i = 0; i < 16; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xF];
  }
  return id;
}

Event hook_finished_event(const HookResultRecord& record, std::int64_t now_unix_ms) {
  json::error_code ec;
  json::value parsed = json::parse(record.status_json, ec);
  const json::object empty;
  const json::object& status = !ec && parsed.is_object() ? parsed.get_object() : empty;
  json::object payload;
  payload["event_id"] = record.event_id;
  payload["event_type"] = record.event_type;
  payload["sid"] = record.sid ? json::value(json::string(*record.sid)) : json::value(nullptr);
  for (std::string_view key :
       {"script", "commit", "exit_code", "outcome", "duration_ms", "output"}) {
    payload[key] = member_or_null(status, key);
  }
  Event event;
  event.id = hook_finished_id(record.event_id, record.arrival_unix_ms);
  event.type = std::string(kHookFinishedType);
  event.timestamp = format_rfc3339(record.finished_unix_ms);  // the same for a repeat
  event.payload_json = json::serialize(payload);
  event.arrival_unix_ms = now_unix_ms;
  return event;
}

}  // namespace hookd
