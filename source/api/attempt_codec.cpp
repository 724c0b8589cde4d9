#include "hookd/api/attempt_codec.h"

#include <boost/json.hpp>

#include "hookd/core/signature.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

bool read(const json::object& object, std::string_view key, std::string& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_string()) return false;
  out = json::string_view(value->get_string());
  return true;
}

template <typename Int>
bool read(const json::object& object, std::string_view key, Int& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_int64()) return false;
  out = static_cast<Int>(value->get_int64());
  return true;
}

}  // namespace

std::string attempt_line(const Attempt& attempt) {
  json::object o;
  o["id"] = attempt.id;
  o["msg"] = attempt.msg_id;
  o["ep"] = attempt.endpoint_id;
  o["app"] = attempt.app_id;
  o["url"] = attempt.url;
  o["response"] = attempt.response;
  o["code"] = attempt.response_status_code;
  o["ms"] = attempt.response_duration_ms;
  o["status"] = attempt.status;
  o["trigger"] = attempt.trigger_type;
  o["ts"] = attempt.timestamp_ms;
  return json::serialize(o) + "\n";
}

std::optional<Attempt> parse_attempt_line(std::string_view line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::object& o = value.get_object();
  Attempt a;
  bool ok = read(o, "id", a.id) && read(o, "msg", a.msg_id) && read(o, "ep", a.endpoint_id) &&
            read(o, "app", a.app_id) && read(o, "url", a.url) && read(o, "response", a.response) &&
            read(o, "code", a.response_status_code) && read(o, "ms", a.response_duration_ms) &&
            read(o, "status", a.status) && read(o, "trigger", a.trigger_type) &&
            read(o, "ts", a.timestamp_ms);
  if (!ok || a.id.empty()) return std::nullopt;
  return a;
}

std::string attempt_response_text(std::string_view body) {
  // The JSON parser checks UTF-8: a string it reads back is valid text.
  boost::system::error_code ec;
  json::parse(json::serialize(json::string(body)), ec);
  return ec ? base64_encode(body) : std::string(body);
}

}  // namespace hookd::api
