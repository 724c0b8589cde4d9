// Svix API request bodies (api/validation.h) read by every reader in turn:
// a body is accepted exactly when it yields no validation item; a refused
// one gives items at body (or body.<field>...), a message and a value_error type, which
// validation_json writes as svix-server's 422 detail list. An unknown field
// changes nothing. What a full body makes (application, event type,
// endpoint, message) written in its wire shape (api/wire.h) is accepted
// again with the same fields, survives the store's codec (api/store_codec.h)
// unchanged, and the same body is also a valid patch.
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "hookd/api/message_index.h"
#include "hookd/api/model.h"
#include "hookd/api/store_codec.h"
#include "hookd/api/validation.h"
#include "hookd/api/wire.h"
#include "json_equal.h"

namespace {

namespace json = boost::json;
using namespace hookd::api;

constexpr const char* kUnknownField = "fuzzUnknownField";
constexpr std::int64_t kCreatedMs = 1795000000123;
const Limits kLimits{};
// As the routes read bodies (route_support.cpp's kMaxBodyDepth); JSON this
// target writes is read back with the same bound.
constexpr std::size_t kMaxBodyDepth = 64;

json::parse_options body_options() {
  json::parse_options options;
  options.max_depth = kMaxBodyDepth;
  return options;
}

// Items as validation_json writes them: {"code":"validation","detail":[...]}.
void check_items(const ValidationItems& items) {
  FUZZ_CHECK(!items.empty());
  for (const ValidationItem& item : items) {
    FUZZ_CHECK(!item.loc.empty() && item.loc[0] == "body");
    FUZZ_CHECK(!item.msg.empty());
    FUZZ_CHECK(item.type.rfind("value_error", 0) == 0);
  }
  json::error_code ec;
  json::value out = json::parse(validation_json(items), ec);
  FUZZ_CHECK(!ec && out.is_object());
  const json::object& object = out.as_object();
  FUZZ_CHECK(object.size() == 2);
  FUZZ_CHECK(object.contains("code") && object.at("code") == "validation");
  const json::value* detail = object.if_contains("detail");
  FUZZ_CHECK(detail && detail->is_array() && detail->as_array().size() == items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const json::value& entry = detail->as_array()[i];
    FUZZ_CHECK(entry.is_object());
    const json::value* loc = entry.as_object().if_contains("loc");
    FUZZ_CHECK(loc && loc->is_array() && loc->as_array().size() == items[i].loc.size());
    for (std::size_t j = 0; j < items[i].loc.size(); ++j)
      FUZZ_CHECK(loc->as_array()[j] == json::string_view(items[i].loc[j]));
    FUZZ_CHECK(entry.as_object().if_contains("msg") &&
               entry.as_object().at("msg") == json::string_view(items[i].msg));
    FUZZ_CHECK(entry.as_object().if_contains("type") &&
               entry.as_object().at("type") == json::string_view(items[i].type));
  }
}

bool same_locs(const ValidationItems& a, const ValidationItems& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].loc != b[i].loc || a[i].msg != b[i].msg || a[i].type != b[i].type) return false;
  }
  return true;
}

// Runs `read` on `body` and on `body` with an unknown field added; checks
// the verdict's shape and that the unknown field changes nothing; `same`
// compares two accepted results.
template <typename Read, typename Same>
auto read_checked(const json::value& body, Read read, Same same) {
  ValidationItems errors;
  auto got = read(body, errors);
  FUZZ_CHECK(got.has_value() == errors.empty());
  if (!got) check_items(errors);
  if (body.is_object() && !body.as_object().contains(kUnknownField)) {
    json::value more = body;
    more.as_object()[kUnknownField] = json::array{1, "two", nullptr};
    ValidationItems more_errors;
    auto again = read(more, more_errors);
    FUZZ_CHECK(again.has_value() == got.has_value());
    if (got) FUZZ_CHECK(same(*got, *again));
    if (!got) FUZZ_CHECK(same_locs(errors, more_errors));
  }
  return got;
}

json::value parsed(const std::string& text) {
  json::error_code ec;
  json::value value = json::parse(text, ec, {}, body_options());
  FUZZ_CHECK(!ec);
  return value;
}

template <typename T>
T value_or(const Field<T>& field, T otherwise) {
  return field.has() ? field.value : otherwise;
}

template <typename T>
std::optional<T> optional_of(const Field<T>& field) {
  return field.has() ? std::optional<T>(field.value) : std::nullopt;
}

// --- applications

bool same_app_input(const ApplicationInput& a, const ApplicationInput& b) {
  return optional_of(a.name) == optional_of(b.name) && optional_of(a.uid) == optional_of(b.uid) &&
         optional_of(a.rate_limit) == optional_of(b.rate_limit) &&
         optional_of(a.metadata) == optional_of(b.metadata);
}

Application app_from(const ApplicationInput& input) {
  Application app;
  app.id = "app_2fuzzfuzzfuzzfuzzfuzzfuzz";
  app.created_ms = app.updated_ms = kCreatedMs;
  app.name = input.name.value;
  app.uid = value_or(input.uid, std::string());
  app.rate_limit = optional_of(input.rate_limit);
  app.metadata = value_or(input.metadata, StringMap());
  return app;
}

bool same_app(const Application& a, const Application& b) {
  return a.id == b.id && a.uid == b.uid && a.name == b.name && a.rate_limit == b.rate_limit &&
         a.metadata == b.metadata && a.created_ms == b.created_ms && a.updated_ms == b.updated_ms;
}

void check_application(const json::value& body) {
  auto read_full = [](const json::value& b, ValidationItems& e) {
    return read_application(b, BodyKind::full, kLimits, e);
  };
  auto read_patch = [](const json::value& b, ValidationItems& e) {
    return read_application(b, BodyKind::patch, kLimits, e);
  };
  auto full = read_checked(body, read_full, same_app_input);
  auto patch = read_checked(body, read_patch, same_app_input);
  if (!full) return;
  FUZZ_CHECK(patch && same_app_input(*full, *patch));
  const Application app = app_from(*full);
  ValidationItems errors;
  auto back = read_application(parsed(application_json(app)), BodyKind::full, kLimits, errors);
  FUZZ_CHECK(back && same_app(app_from(*back), app));
  auto stored = decode_application(encode(app));
  FUZZ_CHECK(stored && same_app(*stored, app));
}

// --- event types

bool same_type_input(const EventTypeInput& a, const EventTypeInput& b) {
  return optional_of(a.name) == optional_of(b.name) &&
         optional_of(a.description) == optional_of(b.description) &&
         optional_of(a.archived) == optional_of(b.archived) &&
         optional_of(a.deprecated) == optional_of(b.deprecated) &&
         optional_of(a.schemas_json) == optional_of(b.schemas_json) &&
         optional_of(a.feature_flag) == optional_of(b.feature_flag) &&
         optional_of(a.feature_flags) == optional_of(b.feature_flags) &&
         optional_of(a.group_name) == optional_of(b.group_name);
}

EventType type_from(const EventTypeInput& input) {
  EventType type;
  type.name = input.name.value;
  type.description = input.description.value;
  type.archived = value_or(input.archived, false);
  type.deprecated = value_or(input.deprecated, false);
  type.schemas_json = value_or(input.schemas_json, std::string());
  type.feature_flag = optional_of(input.feature_flag);
  type.feature_flags = optional_of(input.feature_flags);
  type.group_name = optional_of(input.group_name);
  type.created_ms = type.updated_ms = kCreatedMs;
  return type;
}

bool same_schemas(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return a == b;
  return hookd::fuzz::same_json_text_up_to_ulps(a, b);
}

bool same_type(const EventType& a, const EventType& b) {
  return a.name == b.name && a.description == b.description && a.archived == b.archived &&
         a.deprecated == b.deprecated && same_schemas(a.schemas_json, b.schemas_json) &&
         a.feature_flag == b.feature_flag && a.feature_flags == b.feature_flags &&
         a.group_name == b.group_name && a.created_ms == b.created_ms &&
         a.updated_ms == b.updated_ms;
}

void check_event_type(const json::value& body) {
  auto read_full = [](const json::value& b, ValidationItems& e) {
    return read_event_type(b, BodyKind::full, true, e);
  };
  auto read_put = [](const json::value& b, ValidationItems& e) {
    return read_event_type(b, BodyKind::full, false, e);
  };
  auto read_patch = [](const json::value& b, ValidationItems& e) {
    return read_event_type(b, BodyKind::patch, false, e);
  };
  auto full = read_checked(body, read_full, same_type_input);
  read_checked(body, read_put, same_type_input);
  auto patch = read_checked(body, read_patch, same_type_input);
  if (!full) return;
  FUZZ_CHECK(patch.has_value());
  const EventType type = type_from(*full);
  ValidationItems errors;
  auto back = read_event_type(parsed(event_type_json(type, true)), BodyKind::full, true, errors);
  FUZZ_CHECK(back && same_type(type_from(*back), type));
  auto stored = decode_event_type(encode(type));
  FUZZ_CHECK(stored && same_type(*stored, type));
}

// --- endpoints

bool same_endpoint_input(const EndpointInput& a, const EndpointInput& b) {
  return optional_of(a.url) == optional_of(b.url) &&
         optional_of(a.description) == optional_of(b.description) &&
         optional_of(a.filter_types) == optional_of(b.filter_types) &&
         optional_of(a.channels) == optional_of(b.channels) &&
         optional_of(a.disabled) == optional_of(b.disabled) &&
         optional_of(a.rate_limit) == optional_of(b.rate_limit) &&
         optional_of(a.uid) == optional_of(b.uid) &&
         optional_of(a.version) == optional_of(b.version) &&
         optional_of(a.secret) == optional_of(b.secret) &&
         optional_of(a.metadata) == optional_of(b.metadata) &&
         optional_of(a.headers) == optional_of(b.headers);
}

Endpoint endpoint_from(const EndpointInput& input) {
  Endpoint endpoint;
  endpoint.id = "ep_2fuzzfuzzfuzzfuzzfuzzfuzz";
  endpoint.app_id = "app_2fuzzfuzzfuzzfuzzfuzzfuzz";
  endpoint.uid = value_or(input.uid, std::string());
  endpoint.url = input.url.value;
  endpoint.description = value_or(input.description, std::string());
  endpoint.filter_types = optional_of(input.filter_types);
  endpoint.channels = optional_of(input.channels);
  endpoint.disabled = value_or(input.disabled, false);
  endpoint.rate_limit = optional_of(input.rate_limit);
  endpoint.version = value_or<std::int64_t>(input.version, 1);
  endpoint.metadata = value_or(input.metadata, StringMap());
  endpoint.headers = value_or(input.headers, {});
  endpoint.secret = value_or(input.secret, std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  endpoint.old_secrets = {{"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", kCreatedMs + 1000}};
  endpoint.created_ms = endpoint.updated_ms = kCreatedMs;
  return endpoint;
}

// The wire shape leaves the secret and the headers out (as Svix's EndpointOut).
bool same_endpoint_wire(const Endpoint& a, const Endpoint& b) {
  return a.uid == b.uid && a.url == b.url && a.description == b.description &&
         a.filter_types == b.filter_types && a.channels == b.channels && a.disabled == b.disabled &&
         a.rate_limit == b.rate_limit && a.version == b.version && a.metadata == b.metadata;
}

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
  if (a.old_secrets.size() != b.old_secrets.size()) return false;
  for (std::size_t i = 0; i < a.old_secrets.size(); ++i) {
    if (a.old_secrets[i].secret != b.old_secrets[i].secret ||
        a.old_secrets[i].expires_ms != b.old_secrets[i].expires_ms) {
      return false;
    }
  }
  return same_endpoint_wire(a, b) && a.id == b.id && a.app_id == b.app_id &&
         a.headers == b.headers && a.secret == b.secret && a.created_ms == b.created_ms &&
         a.updated_ms == b.updated_ms;
}

void check_endpoint(const json::value& body) {
  auto read_full = [](const json::value& b, ValidationItems& e) {
    return read_endpoint(b, BodyKind::full, kLimits, e);
  };
  auto read_patch = [](const json::value& b, ValidationItems& e) {
    return read_endpoint(b, BodyKind::patch, kLimits, e);
  };
  auto full = read_checked(body, read_full, same_endpoint_input);
  auto patch = read_checked(body, read_patch, same_endpoint_input);
  if (!full) return;
  FUZZ_CHECK(patch && same_endpoint_input(*full, *patch));
  const Endpoint endpoint = endpoint_from(*full);
  ValidationItems errors;
  auto back = read_endpoint(parsed(endpoint_json(endpoint)), BodyKind::full, kLimits, errors);
  FUZZ_CHECK(back && same_endpoint_wire(endpoint_from(*back), endpoint));
  auto stored = decode_endpoint(encode(endpoint));
  FUZZ_CHECK(stored && same_endpoint(*stored, endpoint));
}

// --- headers, rotation, messages

using Headers = std::vector<std::pair<std::string, std::string>>;

void check_headers(const json::value& body) {
  read_checked(
      body, [](const json::value& b, ValidationItems& e) { return read_headers(b, kLimits, e); },
      [](const Headers& a, const Headers& b) { return a == b; });
  read_checked(
      body,
      [](const json::value& b, ValidationItems& e) { return read_headers_patch(b, kLimits, e); },
      [](const HeadersPatchInput& a, const HeadersPatchInput& b) {
        return a.set == b.set && a.remove == b.remove;
      });
  auto rotate = read_checked(
      body, [](const json::value& b, ValidationItems& e) { return read_rotate(b, e); },
      [](const std::string& a, const std::string& b) { return a == b; });
  if (rotate && !rotate->empty()) FUZZ_CHECK(rotate->rfind("whsec_", 0) == 0);
}

bool same_message_input(const MessageInput& a, const MessageInput& b) {
  return a.event_type == b.event_type && a.event_id == b.event_id &&
         a.payload_json == b.payload_json && a.channels == b.channels &&
         a.application.has_value() == b.application.has_value() &&
         (!a.application || same_app_input(*a.application, *b.application));
}

void check_message(const json::value& body) {
  auto read = [](const json::value& b, ValidationItems& e) { return read_message(b, kLimits, e); };
  auto message = read_checked(body, read, same_message_input);
  if (!message) return;
  FUZZ_CHECK(valid_type_name(message->event_type));
  FUZZ_CHECK(parsed(message->payload_json).is_object());
  MessageEntry entry;
  entry.id = "msg_2fuzzfuzzfuzzfuzzfuzzfuzz";
  entry.app_id = "app_2fuzzfuzzfuzzfuzzfuzzfuzz";
  entry.event_id = message->event_id;
  entry.event_type = message->event_type;
  entry.channels = message->channels.value_or(std::vector<std::string>{});
  entry.timestamp = "2026-11-19T07:06:40.123Z";
  ValidationItems errors;
  // MessageOut, read as a MessageIn: the same message (its payload's doubles
  // up to a few ulps, as Boost.JSON 1.81 reads them back).
  auto back = read_message(parsed(message_json(entry, message->payload_json)), kLimits, errors);
  FUZZ_CHECK(back);
  FUZZ_CHECK(back->event_type == message->event_type && back->event_id == message->event_id);
  FUZZ_CHECK(hookd::fuzz::same_json_text_up_to_ulps(back->payload_json, message->payload_json));
  FUZZ_CHECK(back->channels.value_or(std::vector<std::string>{}) == entry.channels);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A blank body reads as null; one that does not parse is answered 400
  // before any reader sees it (route_support.cpp, read_json_body).
  const std::string_view text = hookd::fuzz::as_text(data, size);
  json::value body;
  if (text.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    json::error_code ec;
    body = json::parse(text, ec, {}, body_options());
    if (ec) return 0;
  }
  check_application(body);
  check_event_type(body);
  check_endpoint(body);
  check_headers(body);
  check_message(body);
  return 0;
}
