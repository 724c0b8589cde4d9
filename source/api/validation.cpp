#include "hookd/api/validation.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <set>

#include "header_rules.h"
#include "hookd/api/endpoint_values.h"
#include "hookd/core/ascii.h"
#include "hookd/core/event.h"

namespace hookd::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxChannelLength = 128;
constexpr std::size_t kMaxEndpointChannels = 10;
constexpr std::size_t kMaxMessageChannels = 5;
constexpr std::size_t kMaxDescriptionBytes = 8192;

// Reads the fields of one JSON object, recording problems at body.<name>.
class BodyReader {
 public:
  BodyReader(const json::object& object, ValidationItems& errors, std::vector<std::string> base)
      : object_(object), errors_(errors), base_(std::move(base)) {}

  void fail(std::string_view field, std::string msg, std::string type = "value_error",
            std::string index = {}) {
    ValidationItem item;
    item.loc = base_;
    item.loc.emplace_back(field);
    if (!index.empty()) item.loc.push_back(std::move(index));
    item.msg = std::move(msg);
    item.type = std::move(type);
    errors_.push_back(std::move(item));
  }

  // The member, or null when absent; marks `field` present/null.
  template <typename T>
  const json::value* member(std::string_view name, Field<T>& field) {
    const json::value* value = object_.if_contains(name);
    if (!value) return nullptr;
    field.present = true;
    if (value->is_null()) {
      field.null = true;
      return nullptr;
    }
    return value;
  }

  void required(std::string_view name, bool present_and_set) {
    if (!present_and_set) fail(name, "field required", "value_error.missing");
  }

  void string(std::string_view name, Field<std::string>& field) {
    const json::value* value = member(name, field);
    if (!value) return;
    if (!value->is_string()) return wrong_type(name, field, "a string");
    field.value = json::string_view(value->get_string());
  }

  void boolean(std::string_view name, Field<bool>& field) {
    const json::value* value = member(name, field);
    if (!value) return;
    if (!value->is_bool()) return wrong_type(name, field, "a boolean");
    field.value = value->get_bool();
  }

  void integer(std::string_view name, Field<std::int64_t>& field) {
    const json::value* value = member(name, field);
    if (!value) return;
    if (value->is_int64()) {
      field.value = value->get_int64();
    } else if (value->is_uint64()) {
      field.value = INT64_MAX;
    } else {
      wrong_type(name, field, "an integer");
    }
  }

  void strings(std::string_view name, Field<std::vector<std::string>>& field) {
    const json::value* value = member(name, field);
    if (!value) return;
    if (!value->is_array()) return wrong_type(name, field, "an array of strings");
    for (const json::value& element : value->get_array()) {
      if (!element.is_string()) return wrong_type(name, field, "an array of strings");
      field.value.emplace_back(json::string_view(element.get_string()));
    }
  }

  void string_map(std::string_view name, Field<StringMap>& field) {
    const json::value* value = member(name, field);
    if (!value) return;
    if (!value->is_object()) return wrong_type(name, field, "an object of strings");
    for (const auto& entry : value->get_object()) {
      if (!entry.value().is_string()) return wrong_type(name, field, "an object of strings");
      field.value[std::string(entry.key())] = json::string_view(entry.value().get_string());
    }
  }

  const json::object& object() const { return object_; }

 private:
  template <typename T>
  void wrong_type(std::string_view name, Field<T>& field, std::string_view expected) {
    field.present = false;
    fail(name, "invalid type: expected " + std::string(expected), "value_error.jsondecode");
  }

  const json::object& object_;
  ValidationItems& errors_;
  std::vector<std::string> base_;
};

// Boost.JSON reads numbers beyond double range as infinities, which no JSON
// writer can put back: such a payload is refused, as ingest refuses it.
bool finite_numbers(const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_:
      return std::isfinite(value.get_double());
    case json::kind::array:
      return std::all_of(value.get_array().begin(), value.get_array().end(), finite_numbers);
    case json::kind::object:
      for (const auto& member : value.get_object()) {
        if (!finite_numbers(member.value())) return false;
      }
      return true;
    default:
      return true;
  }
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= 0x08; });
}

const json::object* as_object(const json::value& body, ValidationItems& errors,
                              std::vector<std::string> loc = {"body"}) {
  if (body.is_object()) return &body.get_object();
  errors.push_back({std::move(loc), "invalid type: expected an object", "value_error.jsondecode"});
  return nullptr;
}

void check_uid(BodyReader& in, const Field<std::string>& uid, std::string_view id_prefix) {
  if (!uid.has()) return;
  if (!valid_limited_string(uid.value)) {
    in.fail("uid", "String must match the following pattern: [a-zA-Z0-9\\-_.] (1 to 256 chars).");
  } else if (uid.value.rfind(id_prefix, 0) == 0) {
    in.fail("uid", "Uids are not allowed to have the same prefix as the ID. Prefix with _?");
  }
}

void check_rate_limit(BodyReader& in, const Field<std::int64_t>& rate, std::string_view name) {
  if (rate.has() && (rate.value < 1 || rate.value > 65535)) {
    in.fail(name, "Rate limits must be between 1 and 65535 if set");
  }
}

void check_metadata(BodyReader& in, const Field<StringMap>& metadata, const Limits& limits) {
  if (!metadata.has()) return;
  json::object object;
  for (const auto& [key, value] : metadata.value)
    object[key] = value;
  if (json::serialize(object).size() > limits.max_metadata_bytes) {
    in.fail("metadata", "metadata must be less than or equal to " +
                            std::to_string(limits.max_metadata_bytes) + " bytes");
  }
}

// Names that must be unique: duplicates are dropped (Svix keeps sets).
void dedupe(std::vector<std::string>& items) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (auto& item : items) {
    if (seen.insert(item).second) out.push_back(std::move(item));
  }
  items = std::move(out);
}

bool channel_count_ok(std::size_t count, std::size_t max) {
  return count >= 1 && count <= max;
}

void check_channels(BodyReader& in, Field<std::vector<std::string>>& channels, std::size_t max) {
  if (!channels.has()) return;
  dedupe(channels.value);
  if (!channel_count_ok(channels.value.size(), max)) {
    in.fail("channels", "Channels must have at least 1 and at most " + std::to_string(max) +
                            " items, or be set to null.");
    return;
  }
  for (std::size_t i = 0; i < channels.value.size(); ++i) {
    if (!valid_limited_string(channels.value[i], kMaxChannelLength)) {
      in.fail("channels", "Channels must match [a-zA-Z0-9\\-_.] (1 to 128 chars).", "value_error",
              "[" + std::to_string(i) + "]");
    }
  }
}

// `headers` as an object of strings (nulls allowed when `allow_null`).
bool read_header_object(BodyReader& in, const json::value& value, const Limits& limits,
                        bool allow_null,
                        std::vector<std::pair<std::string, std::optional<std::string>>>& out) {
  if (!value.is_object()) {
    in.fail("headers", "invalid type: expected an object of strings", "value_error.jsondecode");
    return false;
  }
  bool ok = true;
  std::set<std::string> seen;
  for (const auto& entry : value.get_object()) {
    std::string name(entry.key());
    if (std::string problem = header_name_problem(name); !problem.empty()) {
      in.fail("headers", problem, "value_error", name);
      ok = false;
      continue;
    }
    if (!seen.insert(ascii_lower(name)).second) {
      in.fail("headers", "Header given twice (names ignore case).", "value_error", name);
      ok = false;
      continue;
    }
    if (entry.value().is_null() && allow_null) {
      out.emplace_back(std::move(name), std::nullopt);
      continue;
    }
    if (!entry.value().is_string()) {
      in.fail("headers", "invalid type: expected a string", "value_error.jsondecode", name);
      ok = false;
      continue;
    }
    std::string_view text = json::string_view(entry.value().get_string());
    if (text.size() > limits.max_header_bytes) {
      in.fail("headers",
              "Maximum header length is " + std::to_string(limits.max_header_bytes) + " bytes",
              "value_error", name);
      ok = false;
    } else if (!valid_header_value(text)) {
      in.fail("headers", "Invalid Header Value.", "value_error", name);
      ok = false;
    } else {
      out.emplace_back(std::move(name), std::string(text));
    }
  }
  if (out.size() > limits.max_headers) {
    in.fail("headers", "At most " + std::to_string(limits.max_headers) + " headers");
    ok = false;
  }
  return ok;
}

// [a-zA-Z0-9-_.] as a table: one load per character (every message
// create checks its eventType against it).
constexpr std::array<bool, 256> kLimitedChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.';
  }
  return table;
}();

}  // namespace

bool valid_limited_string(std::string_view text, std::size_t max) {
  if (text.empty() || text.size() > max) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return kLimitedChars[static_cast<unsigned char>(c)]; });
}

bool valid_type_name(std::string_view name) {
  return valid_limited_string(name) && valid_event_type(name);
}

std::optional<ApplicationInput> read_application(const json::value& body, BodyKind kind,
                                                 const Limits& limits, ValidationItems& errors) {
  const std::size_t before = errors.size();
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  ApplicationInput out;
  in.string("name", out.name);
  in.string("uid", out.uid);
  Field<std::int64_t> throttle;
  in.integer("rateLimit", out.rate_limit);
  in.integer("throttleRate", throttle);
  if (throttle.present) out.rate_limit = throttle;
  in.string_map("metadata", out.metadata);
  if (kind == BodyKind::full) in.required("name", out.name.has());
  if (out.name.present && out.name.null && kind == BodyKind::patch) {
    in.fail("name", "name can not be null");
  }
  if (out.name.has() && out.name.value.empty()) {
    in.fail("name", "Application names must be at least one character");
  } else if (out.name.has() && has_control_characters(out.name.value)) {
    in.fail("name", "Control characters 0x00-0x08 not allowed.");
  }
  check_uid(in, out.uid, "app_");
  check_rate_limit(in, out.rate_limit, "rateLimit");
  check_metadata(in, out.metadata, limits);
  if (errors.size() != before) return std::nullopt;
  return out;
}

std::optional<EventTypeInput> read_event_type(const json::value& body, BodyKind kind,
                                              bool name_in_body, ValidationItems& errors) {
  const std::size_t before = errors.size();
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  EventTypeInput out;
  if (name_in_body) {
    in.string("name", out.name);
    in.required("name", out.name.has());
    if (out.name.has() && !valid_type_name(out.name.value)) {
      in.fail("name",
              "Event type names are dot-separated words of [a-zA-Z0-9\\-_] (at most 128 chars), "
              "e.g. \"session.open\".");
    }
  }
  in.string("description", out.description);
  in.boolean("archived", out.archived);
  in.boolean("deprecated", out.deprecated);
  if (const json::value* schemas = in.member("schemas", out.schemas_json)) {
    if (schemas->is_object()) {
      out.schemas_json = {true, false, json::serialize(*schemas)};
    } else {
      out.schemas_json.present = false;
      in.fail("schemas", "invalid type: expected an object", "value_error.jsondecode");
    }
  }
  in.string("featureFlag", out.feature_flag);
  in.strings("featureFlags", out.feature_flags);
  in.string("groupName", out.group_name);
  if (kind == BodyKind::full) in.required("description", out.description.has());
  if (out.description.has() && has_control_characters(out.description.value)) {
    in.fail("description", "Control characters 0x00-0x08 not allowed.");
  }
  if (out.description.has() && out.description.value.size() > kMaxDescriptionBytes) {
    in.fail("description", "description too long");
  }
  if (errors.size() != before) return std::nullopt;
  return out;
}

std::optional<EndpointInput> read_endpoint(const json::value& body, BodyKind kind,
                                           const Limits& limits, ValidationItems& errors) {
  const std::size_t before = errors.size();
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  EndpointInput out;
  in.string("url", out.url);
  in.string("description", out.description);
  in.strings("filterTypes", out.filter_types);
  if (object->contains("eventTypes")) {
    Field<std::vector<std::string>> event_types;
    in.strings("eventTypes", event_types);
    if (event_types.present) out.filter_types = std::move(event_types);
  }
  in.strings("channels", out.channels);
  in.boolean("disabled", out.disabled);
  Field<std::int64_t> throttle;
  in.integer("rateLimit", out.rate_limit);
  in.integer("throttleRate", throttle);
  if (throttle.present) out.rate_limit = throttle;
  in.string("uid", out.uid);
  in.integer("version", out.version);
  in.string("secret", out.secret);
  in.string_map("metadata", out.metadata);
  if (const json::value* headers = in.member("headers", out.headers)) {
    std::vector<std::pair<std::string, std::optional<std::string>>> read;
    if (read_header_object(in, *headers, limits, false, read)) {
      for (auto& [name, value] : read)
        out.headers.value.emplace_back(std::move(name), std::move(*value));
    }
  }

  if (kind == BodyKind::full) in.required("url", out.url.has());
  if (out.url.has() && !valid_endpoint_url(out.url.value)) {
    in.fail("url", "Endpoint URLs must be absolute http or https URLs with a host");
  }
  if (out.description.has() && (has_control_characters(out.description.value) ||
                                out.description.value.size() > kMaxDescriptionBytes)) {
    in.fail("description", "Control characters 0x00-0x08 not allowed (and at most 8 KiB).");
  }
  if (out.filter_types.has()) {
    dedupe(out.filter_types.value);
    if (out.filter_types.value.empty()) {
      in.fail("filterTypes", "filterTypes can't be empty, it must have at least one item.");
    } else if (out.filter_types.value.size() > limits.max_filter_types) {
      in.fail("filterTypes", "filterTypes can have at most " +
                                 std::to_string(limits.max_filter_types) + " items.");
    } else {
      for (std::size_t i = 0; i < out.filter_types.value.size(); ++i) {
        if (!valid_type_name(out.filter_types.value[i])) {
          in.fail("filterTypes", "Not a valid event type name.", "value_error",
                  "[" + std::to_string(i) + "]");
        }
      }
    }
  }
  check_channels(in, out.channels, kMaxEndpointChannels);
  check_rate_limit(in, out.rate_limit, "rateLimit");
  check_uid(in, out.uid, "ep_");
  if (out.version.has() && out.version.value < 1) {
    in.fail("version", "Endpoint versions must be at least one if set");
  }
  if (out.secret.has()) {
    if (auto normal = normalise_secret(out.secret.value)) {
      out.secret.value = *normal;
    } else {
      in.fail("secret", "secret length invalid (whsec_ + base64 of 24 to 75 bytes)");
    }
  }
  check_metadata(in, out.metadata, limits);
  if (errors.size() != before) return std::nullopt;
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> read_headers(
    const json::value& body, const Limits& limits, ValidationItems& errors) {
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  const json::value* headers = object->if_contains("headers");
  if (!headers) {
    in.fail("headers", "field required", "value_error.missing");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> read;
  if (!read_header_object(in, *headers, limits, false, read)) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [name, value] : read)
    out.emplace_back(std::move(name), std::move(*value));
  return out;
}

std::optional<HeadersPatchInput> read_headers_patch(const json::value& body, const Limits& limits,
                                                    ValidationItems& errors) {
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  const std::size_t before = errors.size();
  BodyReader in(*object, errors, {"body"});
  HeadersPatchInput out;
  if (const json::value* headers = object->if_contains("headers")) {
    read_header_object(in, *headers, limits, true, out.set);
  }
  Field<std::vector<std::string>> remove;
  in.strings("deleteHeaders", remove);
  if (remove.has()) out.remove = std::move(remove.value);
  // A deleteHeaders of the wrong type is reported like any other problem.
  if (errors.size() != before) return std::nullopt;
  return out;
}

std::string_view event_id_problem(std::string_view id) {
  if (!valid_limited_string(id)) {
    return "String must match the following pattern: [a-zA-Z0-9\\-_.] (1 to 256).";
  }
  if (id.starts_with("msg_")) {
    return "Uids are not allowed to have the same prefix as the ID. Prefix with _?";
  }
  return {};
}

bool keep_message_channels(std::vector<std::string>& channels) {
  dedupe(channels);
  if (!channel_count_ok(channels.size(), kMaxMessageChannels)) return false;
  return std::all_of(channels.begin(), channels.end(), [](const std::string& channel) {
    return valid_limited_string(channel, kMaxChannelLength);
  });
}

std::optional<MessageInput> read_message(const json::value& body, const Limits& limits,
                                         ValidationItems& errors) {
  const std::size_t before = errors.size();
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  MessageInput out;
  Field<std::string> event_type, event_id;
  in.string("eventType", event_type);
  in.string("eventId", event_id);
  in.required("eventType", event_type.has());
  if (event_type.has() && !valid_type_name(event_type.value)) {
    in.fail("eventType",
            "Event type names are dot-separated words of [a-zA-Z0-9\\-_] (at most 128 chars), "
            "e.g. \"session.open\".");
  }
  if (event_id.has()) {
    if (std::string_view problem = event_id_problem(event_id.value); !problem.empty()) {
      in.fail("eventId", std::string(problem));
    }
  }
  const json::value* payload = object->if_contains("payload");
  if (!payload) payload = object->if_contains("data");
  if (!payload || payload->is_null()) {
    in.fail("payload", "field required", "value_error.missing");
  } else if (!payload->is_object()) {
    in.fail("payload", "Payload must be an object.");
  } else if (!finite_numbers(*payload)) {
    in.fail("payload", "number out of range");
  } else {
    out.payload_json = json::serialize(*payload);
  }
  Field<std::vector<std::string>> channels;
  in.strings("channels", channels);
  check_channels(in, channels, kMaxMessageChannels);
  if (channels.has()) out.channels = std::move(channels.value);
  Field<std::int64_t> retention;
  in.integer("payloadRetentionPeriod", retention);
  if (retention.has() && (retention.value < 5 || retention.value > 90)) {
    in.fail("payloadRetentionPeriod", "must be between 5 and 90");
  }
  if (const json::value* application = object->if_contains("application");
      application && !application->is_null()) {
    ValidationItems app_errors;
    out.application = read_application(*application, BodyKind::full, limits, app_errors);
    for (ValidationItem& item : app_errors) {
      item.loc.insert(item.loc.begin() + 1, "application");
      errors.push_back(std::move(item));
    }
  }
  if (errors.size() != before) return std::nullopt;
  out.event_type = std::move(event_type.value);
  if (event_id.has()) out.event_id = std::move(event_id.value);
  return out;
}

std::optional<std::string> read_rotate(const json::value& body, ValidationItems& errors) {
  if (body.is_null()) return std::string();
  const json::object* object = as_object(body, errors);
  if (!object) return std::nullopt;
  BodyReader in(*object, errors, {"body"});
  Field<std::string> key;
  const std::size_t before = errors.size();
  in.string("key", key);
  if (errors.size() != before) return std::nullopt;
  if (!key.has()) return std::string();  // absent or null: generate one
  auto normal = normalise_secret(key.value);
  if (!normal) {
    in.fail("key", "secret length invalid (whsec_ + base64 of 24 to 75 bytes)");
    return std::nullopt;
  }
  return normal;
}

}  // namespace hookd::api
