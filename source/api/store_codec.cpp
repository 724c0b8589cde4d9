#include "hookd/api/store_codec.h"

#include <boost/json.hpp>

#include "hookd/api/json_fields.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

// Readers that leave `out` alone (and say false) when the member is missing
// or of another type.
bool get(const json::object& object, std::string_view key, std::string& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_string()) return false;
  out = json::string_view(value->get_string());
  return true;
}

bool get(const json::object& object, std::string_view key, std::int64_t& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_int64()) return false;
  out = value->get_int64();
  return true;
}

bool get(const json::object& object, std::string_view key, bool& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_bool()) return false;
  out = value->get_bool();
  return true;
}

void get(const json::object& object, std::string_view key, std::optional<std::int64_t>& out) {
  std::int64_t value = 0;
  if (get(object, key, value)) out = value;
}

void get(const json::object& object, std::string_view key, std::optional<std::string>& out) {
  std::string value;
  if (get(object, key, value)) out = value;
}

bool get(const json::object& object, std::string_view key, std::vector<std::string>& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_array()) return false;
  for (const json::value& item : value->get_array()) {
    if (!item.is_string()) return false;
    out.emplace_back(json::string_view(item.get_string()));
  }
  return true;
}

void get(const json::object& object, std::string_view key,
         std::optional<std::vector<std::string>>& out) {
  std::vector<std::string> values;
  if (get(object, key, values)) out = std::move(values);
}

void get(const json::object& object, std::string_view key, StringMap& out) {
  const json::value* value = object.if_contains(key);
  if (!value || !value->is_object()) return;
  for (const auto& entry : value->get_object()) {
    if (entry.value().is_string()) {
      out[std::string(entry.key())] = json::string_view(entry.value().get_string());
    }
  }
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

}  // namespace

std::string encode(const Application& app) {
  json::object o;
  o["id"] = app.id;
  o["uid"] = app.uid;
  o["name"] = app.name;
  o["rateLimit"] = optional_int(app.rate_limit);
  o["metadata"] = string_map(app.metadata);
  o["createdMs"] = app.created_ms;
  o["updatedMs"] = app.updated_ms;
  return json::serialize(o);
}

std::string encode(const EventType& type) {
  json::object o;
  o["name"] = type.name;
  o["description"] = type.description;
  o["archived"] = type.archived;
  o["deprecated"] = type.deprecated;
  o["schemas"] = type.schemas_json;
  o["featureFlag"] = type.feature_flag ? json::value(*type.feature_flag) : json::value(nullptr);
  o["featureFlags"] = optional_strings(type.feature_flags);
  o["groupName"] = type.group_name ? json::value(*type.group_name) : json::value(nullptr);
  o["createdMs"] = type.created_ms;
  o["updatedMs"] = type.updated_ms;
  return json::serialize(o);
}

std::string encode(const Endpoint& endpoint) {
  json::object o;
  o["id"] = endpoint.id;
  o["appId"] = endpoint.app_id;
  o["uid"] = endpoint.uid;
  o["url"] = endpoint.url;
  o["description"] = endpoint.description;
  o["filterTypes"] = optional_strings(endpoint.filter_types);
  o["channels"] = optional_strings(endpoint.channels);
  o["disabled"] = endpoint.disabled;
  o["rateLimit"] = optional_int(endpoint.rate_limit);
  o["version"] = endpoint.version;
  o["metadata"] = string_map(endpoint.metadata);
  json::array headers;
  for (const auto& [name, value] : endpoint.headers)
    headers.emplace_back(json::array{json::value(name), json::value(value)});
  o["headers"] = std::move(headers);
  o["secret"] = endpoint.secret;
  json::array old;
  for (const OldSecret& secret : endpoint.old_secrets)
    old.emplace_back(json::object{{"secret", secret.secret}, {"expiresMs", secret.expires_ms}});
  o["oldSecrets"] = std::move(old);
  o["createdMs"] = endpoint.created_ms;
  o["updatedMs"] = endpoint.updated_ms;
  return json::serialize(o);
}

std::optional<Application> decode_application(std::string_view text) {
  auto o = parse_object(text);
  Application app;
  if (!o || !get(*o, "id", app.id) || !get(*o, "name", app.name)) return std::nullopt;
  get(*o, "uid", app.uid);
  get(*o, "rateLimit", app.rate_limit);
  get(*o, "metadata", app.metadata);
  get(*o, "createdMs", app.created_ms);
  get(*o, "updatedMs", app.updated_ms);
  return app;
}

std::optional<EventType> decode_event_type(std::string_view text) {
  auto o = parse_object(text);
  EventType type;
  if (!o || !get(*o, "name", type.name)) return std::nullopt;
  get(*o, "description", type.description);
  get(*o, "archived", type.archived);
  get(*o, "deprecated", type.deprecated);
  get(*o, "schemas", type.schemas_json);
  get(*o, "featureFlag", type.feature_flag);
  get(*o, "featureFlags", type.feature_flags);
  get(*o, "groupName", type.group_name);
  get(*o, "createdMs", type.created_ms);
  get(*o, "updatedMs", type.updated_ms);
  return type;
}

std::optional<Endpoint> decode_endpoint(std::string_view text) {
  auto o = parse_object(text);
  Endpoint endpoint;
  if (!o || !get(*o, "id", endpoint.id) || !get(*o, "appId", endpoint.app_id) ||
      !get(*o, "url", endpoint.url) || !get(*o, "secret", endpoint.secret)) {
    return std::nullopt;
  }
  get(*o, "uid", endpoint.uid);
  get(*o, "description", endpoint.description);
  get(*o, "filterTypes", endpoint.filter_types);
  get(*o, "channels", endpoint.channels);
  get(*o, "disabled", endpoint.disabled);
  get(*o, "rateLimit", endpoint.rate_limit);
  get(*o, "version", endpoint.version);
  get(*o, "metadata", endpoint.metadata);
  if (const json::value* headers = o->if_contains("headers"); headers && headers->is_array()) {
    for (const json::value& pair : headers->get_array()) {
      if (!pair.is_array() || pair.get_array().size() != 2 || !pair.get_array()[0].is_string() ||
          !pair.get_array()[1].is_string()) {
        return std::nullopt;
      }
      endpoint.headers.emplace_back(json::string_view(pair.get_array()[0].get_string()),
                                    json::string_view(pair.get_array()[1].get_string()));
    }
  }
  if (const json::value* old = o->if_contains("oldSecrets"); old && old->is_array()) {
    for (const json::value& item : old->get_array()) {
      OldSecret secret;
      if (!item.is_object() || !get(item.get_object(), "secret", secret.secret) ||
          !get(item.get_object(), "expiresMs", secret.expires_ms)) {
        return std::nullopt;
      }
      endpoint.old_secrets.push_back(std::move(secret));
    }
  }
  get(*o, "createdMs", endpoint.created_ms);
  get(*o, "updatedMs", endpoint.updated_ms);
  return endpoint;
}

}  // namespace hookd::api
