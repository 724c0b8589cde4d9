// Hoop webhook payload -> runbook hook payload: the mapping happens exactly
// for session.open / session.close webhook payloads, its output is valid JSON
// in the runbook shape (the keys Hoop's hooks read, the right session half
// set), mapping is not applied twice, and raw mode passes bytes unchanged.
#include <cmath>
#include <string>

#include <boost/json.hpp>

#include "fuzz_check.h"
#include "hookd/hooks/hoop_payload.h"

namespace json = boost::json;

namespace {

constexpr std::string_view kEventId = "evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A";

// The event_type string of a JSON object payload, if it has one.
std::optional<std::string> event_type(std::string_view payload) {
  json::error_code ec;
  json::value value = json::parse(payload, ec);
  if (ec || !value.is_object()) return std::nullopt;
  const json::value* type = value.as_object().if_contains("event_type");
  if (type == nullptr || !type->is_string()) return std::nullopt;
  return std::string(type->as_string());
}

// Whether every number in `value` is finite. parse_events refuses payloads
// with numbers beyond double range (Boost.JSON would write them back as
// Infinity), so no hook payload is made from one.
bool all_finite(const json::value& value) {
  if (value.is_double()) return std::isfinite(value.get_double());
  if (value.is_array()) {
    for (const json::value& element : value.get_array()) {
      if (!all_finite(element)) return false;
    }
  }
  if (value.is_object()) {
    for (const auto& member : value.get_object()) {
      if (!all_finite(member.value())) return false;
    }
  }
  return true;
}

void check_runbook_shape(const std::string& mapped, bool open) {
  // Valid JSON: Boost.JSON's parser refuses invalid UTF-8, as Python's does.
  json::error_code ec;
  json::value value = json::parse(mapped, ec);
  FUZZ_CHECK(!ec && value.is_object());
  const json::object& hook = value.as_object();
  FUZZ_CHECK(hook.size() == 6);
  FUZZ_CHECK(hook.contains("sid") && hook.contains("command"));
  FUZZ_CHECK(hook.at("id") == json::string(kEventId));
  FUZZ_CHECK(hook.at("input_file") == json::string(""));
  const json::value& opened = hook.at("event_session_open");
  const json::value& closed = hook.at("event_session_close");
  if (open) {
    FUZZ_CHECK(opened.is_object() && closed.is_null());
    const json::object& o = opened.as_object();
    FUZZ_CHECK(o.size() == 8);
    for (std::string_view key :
         {"verb", "connection_name", "connection_type", "connection_subtype", "connection_envs",
          "connection_reviewers", "input", "user_email"}) {
      FUZZ_CHECK(o.contains(key));
    }
    const json::value& envs = o.at("connection_envs");
    FUZZ_CHECK(envs.is_null() || envs.is_object());
  } else {
    FUZZ_CHECK(opened.is_null() && closed.is_object());
    FUZZ_CHECK(closed.as_object().size() == 2);
    FUZZ_CHECK(closed.as_object().contains("exit_code") && closed.as_object().contains("output"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view payload = hookd::fuzz::as_text(data, size);
  json::error_code ec;
  if (json::value parsed = json::parse(payload, ec); !ec && !all_finite(parsed)) return 0;
  auto type = event_type(payload);
  FUZZ_CHECK(hookd::is_hoop_webhook_payload(payload) == type.has_value());

  auto mapped = hookd::hoop_runbook_payload(payload, kEventId);
  bool session = type && (*type == "session.open" || *type == "session.close");
  FUZZ_CHECK(mapped.has_value() == session);
  if (mapped) {
    check_runbook_shape(*mapped, *type == "session.open");
    FUZZ_CHECK(!hookd::is_hoop_webhook_payload(*mapped));
    FUZZ_CHECK(!hookd::hoop_runbook_payload(*mapped, kEventId).has_value());
  }

  FUZZ_CHECK(hookd::hook_payload_for(hookd::HookPayloadMode::raw, payload, kEventId) == payload);
  FUZZ_CHECK(hookd::hook_payload_for(hookd::HookPayloadMode::hoop, payload, kEventId) ==
             (mapped ? *mapped : std::string(payload)));
  return 0;
}
