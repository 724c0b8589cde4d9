// Reading and checking Svix API request bodies (ApplicationIn, EventTypeIn,
// EndpointIn, MessageIn and their patch forms) by svix-server's rules.
// Pure functions: a body in, the fields it sets or the list of problems
// (422 "validation" items) out. Unknown fields are ignored. Thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/api/endpoint_values.h"
#include "hookd/api/model.h"

namespace hookd::api {

struct ValidationItem {
  std::vector<std::string> loc;  // e.g. {"body", "filterTypes", "[2]"}
  std::string msg;
  std::string type;  // "value_error", "value_error.missing", "value_error.jsondecode"
};
using ValidationItems = std::vector<ValidationItem>;

// A field of a request body: absent, null, or a value (PATCH tells them apart).
template <typename T>
struct Field {
  bool present = false;
  bool null = false;
  T value{};
  bool has() const { return present && !null; }
};

// Full bodies (POST, PUT) require what Svix requires; patches require nothing.
enum class BodyKind { full, patch };

struct ApplicationInput {
  Field<std::string> name;
  Field<std::string> uid;
  Field<std::int64_t> rate_limit;  // rateLimit or throttleRate
  Field<StringMap> metadata;
};

struct EventTypeInput {
  Field<std::string> name;  // POST only; PUT and PATCH take it from the path
  Field<std::string> description;
  Field<bool> archived;
  Field<bool> deprecated;
  Field<std::string> schemas_json;  // a JSON object
  Field<std::string> feature_flag;
  Field<std::vector<std::string>> feature_flags;
  Field<std::string> group_name;
};

struct EndpointInput {
  Field<std::string> url;
  Field<std::string> description;
  Field<std::vector<std::string>> filter_types;  // filterTypes or eventTypes
  Field<std::vector<std::string>> channels;
  Field<bool> disabled;
  Field<std::int64_t> rate_limit;
  Field<std::string> uid;
  Field<std::int64_t> version;
  Field<std::string> secret;  // normalised to "whsec_<base64>"
  Field<StringMap> metadata;
  Field<std::vector<std::pair<std::string, std::string>>> headers;
};

struct HeadersPatchInput {
  std::vector<std::pair<std::string, std::optional<std::string>>> set;  // null: remove
  std::vector<std::string> remove;                                      // deleteHeaders
};

struct MessageInput {
  std::string event_type;
  std::string event_id;  // "" when not given
  std::string payload_json;
  std::optional<std::vector<std::string>> channels;
  std::optional<ApplicationInput> application;  // implicit creation
};

// Each returns the fields, or nullopt with `errors` filled. `body` is the
// parsed request body (any JSON value; a non-object is one error).
std::optional<ApplicationInput> read_application(const boost::json::value& body, BodyKind kind,
                                                 const Limits& limits, ValidationItems& errors);
std::optional<EventTypeInput> read_event_type(const boost::json::value& body, BodyKind kind,
                                              bool name_in_body, ValidationItems& errors);
std::optional<EndpointInput> read_endpoint(const boost::json::value& body, BodyKind kind,
                                           const Limits& limits, ValidationItems& errors);
std::optional<std::vector<std::pair<std::string, std::string>>> read_headers(
    const boost::json::value& body, const Limits& limits, ValidationItems& errors);
std::optional<HeadersPatchInput> read_headers_patch(const boost::json::value& body,
                                                    const Limits& limits, ValidationItems& errors);
std::optional<MessageInput> read_message(const boost::json::value& body, const Limits& limits,
                                         ValidationItems& errors);
// MessageIn's eventId rule: "" for a valid one, else read_message's msg.
std::string_view event_id_problem(std::string_view id);
// A message's channels as read_message keeps them (duplicates dropped);
// false when read_message refuses them.
bool keep_message_channels(std::vector<std::string>& channels);
// EndpointSecretRotateIn: the new key, or "" to generate one.
std::optional<std::string> read_rotate(const boost::json::value& body, ValidationItems& errors);

// Svix's id-or-uid strings: 1..256 of [A-Za-z0-9_.-].
bool valid_limited_string(std::string_view text, std::size_t max = 256);
// Event type names: a limited string that is also a hookd event type
// (dot-separated words), so every message is an event hooks can run for.
bool valid_type_name(std::string_view name);
}  // namespace hookd::api
