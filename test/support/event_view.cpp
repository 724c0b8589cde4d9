#include "support/event_view.h"

#include <boost/json.hpp>
#include <chrono>

namespace hookd::test {

namespace json = boost::json;

namespace {

// o[section][key][field] (o[section][field] without a key), when a string.
std::string string_at(const json::object& o, const char* section, const std::string& key,
                      const char* field) {
  const json::value* part = o.if_contains(section);
  if (part && !key.empty() && part->is_object()) part = part->as_object().if_contains(key);
  if (!part || !part->is_object()) return "";
  const json::value* value = part->as_object().if_contains(field);
  return value && value->is_string() ? std::string(value->as_string()) : "";
}

}  // namespace

Reply wait_for_event_view(unsigned short port, const std::string& id,
                          const std::function<bool(const json::object& view)>& done,
                          const std::vector<std::pair<std::string, std::string>>& headers) {
  Reply last;
  wait_until(
      [&] {
        last = http(port, "GET", "/v1/events/" + id, "", headers);
        if (last.status != 200) return false;
        boost::system::error_code ec;
        json::value view = json::parse(last.body, ec);
        return !ec && view.is_object() && done(view.as_object());
      },
      std::chrono::seconds(30));
  return last;
}

std::string delivery_state(const json::object& view, const std::string& endpoint) {
  return string_at(view, "deliveries", endpoint, "state");
}

std::string hook_outcome(const json::object& view) {
  return string_at(view, "hook", "", "outcome");
}

}  // namespace hookd::test
