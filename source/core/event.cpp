#include "hookd/core/event.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <boost/json.hpp>

#include "event_scan.h"

namespace hookd {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxIdLength = 128;
constexpr std::size_t kMaxTypeLength = 128;
constexpr const char kExampleTimestamp[] = "\"2026-11-24T10:15:02Z\"";

// Most bodies (one Hoop event is under 1 KiB) fit in these, so parsing a
// typical request does not touch the heap until the strings of the Event.
constexpr std::size_t kParseArenaBytes = 8192;
constexpr std::size_t kParseStackBytes = 2048;

// Stored events were accepted under whatever max_depth the daemon ran with;
// recovery must not drop them because the option was lowered since.
constexpr std::size_t kJournalMaxDepth = 1024;

std::string_view kind_name(json::kind kind) {
  switch (kind) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "an unknown value";
}

// Where in the body a problem is: "" for a single event, "events[2]." in an
// array. Built only when there is an error to report.
std::string field_error(std::ptrdiff_t index, std::string_view field, std::string_view problem) {
  std::string out;
  if (index >= 0) {
    out += "events[";
    out += std::to_string(index);
    out += ']';
    if (!field.empty()) out += '.';
  }
  out += field;
  out += ": ";
  out += problem;
  return out;
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool is_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Empty when `id` is acceptable, otherwise the reason, for the 400 body.
std::string id_problem(std::string_view id) {
  if (id.empty()) return "empty";
  if (id.size() > kMaxIdLength) {
    return "longer than " + std::to_string(kMaxIdLength) + " characters";
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (!is_id_char(id[i])) {
      return "invalid characters (position " + std::to_string(i) +
             "; allowed: A-Z a-z 0-9 _ . : -)";
    }
  }
  // "." and ".." are path segments that HTTP clients normalise away, so
  // GET /v1/events/{id} could never reach them.
  if (id.find_first_not_of('.') == std::string_view::npos) return "must not be only dots";
  return {};
}

std::string type_problem(std::string_view type) {
  if (type.empty()) return "empty";
  if (type.size() > kMaxTypeLength) {
    return "longer than " + std::to_string(kMaxTypeLength) + " characters";
  }
  bool segment_empty = true;
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c == '.') {
      if (segment_empty) {
        return "empty segment at position " + std::to_string(i) +
               " (must be dot-separated words, e.g. \"session.open\")";
      }
      segment_empty = true;
    } else if (is_type_char(c)) {
      segment_empty = false;
    } else {
      return "invalid characters (position " + std::to_string(i) +
             "; allowed: A-Z a-z 0-9 _ - in dot-separated words, e.g. \"session.open\")";
    }
  }
  if (segment_empty) return "must not end with a dot (e.g. \"session.open\")";
  return {};
}

// Boost.JSON turns numbers beyond double range into infinities and would
// serialize them as `Infinity`, which no JSON reader accepts downstream. It
// also turns integer literals beyond 64 bits into doubles; `wide_integral`
// flags doubles that may have come from such a literal (parse_events then
// looks at the text to tell them from a genuine 1e20).
bool all_numbers_finite(const json::value& value, bool& wide_integral) {
  switch (value.kind()) {
    case json::kind::double_: {
      double d = value.get_double();
      if (std::fabs(d) >= 9223372036854775808.0 && d == std::floor(d)) wide_integral = true;
      return std::isfinite(d);
    }
    case json::kind::array:
      for (const auto& element : value.get_array()) {
        if (!all_numbers_finite(element, wide_integral)) return false;
      }
      return true;
    case json::kind::object:
      for (const auto& member : value.get_object()) {
        if (!all_numbers_finite(member.value(), wide_integral)) return false;
      }
      return true;
    default:
      return true;
  }
}

// True when `text` holds, outside strings, an integer literal (no fraction,
// no exponent) that fits neither int64 nor uint64: Boost.JSON would keep it
// only approximately, so the event is refused rather than altered.
bool has_wide_integer_literal(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    bool negative = c == '-';
    std::size_t start = negative ? i + 1 : i;
    std::size_t end = start;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9')
      ++end;
    if (end == start) {
      ++i;
      continue;
    }
    bool integer = end == text.size() || (text[end] != '.' && text[end] != 'e' && text[end] != 'E');
    if (integer) {
      std::string_view digits = text.substr(start, end - start);
      std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
      if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) {
        return true;
      }
    }
    i = end;
  }
  return false;
}

std::string_view as_view(const json::string& s) {
  return {s.data(), s.size()};
}

enum class Source { request, journal };

constexpr const char* kWideIntegerProblem =
    "integer beyond 64 bits (it would not be kept exactly; send it as a string)";

// One member of an event object as the checks see it, whichever reader
// found it: its value's kind and, for a string, its text.
struct MemberView {
  bool present = false;
  json::kind kind = json::kind::null;
  std::string_view text;
};

MemberView view_of(const json::value* value) {
  if (value == nullptr) return {};
  return {true, value->kind(), value->is_string() ? as_view(value->get_string()) : ""};
}

MemberView view_of(const event_detail::ScannedMember& member) {
  return {member.present, member.kind, member.text};
}

struct EventView {
  MemberView type, id, timestamp, payload;
};

// The checks of one event object, up to and including "the payload is an
// object"; its numbers are the caller's (the tree and the scan judge them
// differently). Requests may leave out id and timestamp (or set them to
// null); journal records may not.
bool check_event(EventView event, std::ptrdiff_t index, Source source, std::string& error) {
  if (source == Source::request) {
    if (event.id.present && event.id.kind == json::kind::null) event.id = {};
    if (event.timestamp.present && event.timestamp.kind == json::kind::null) event.timestamp = {};
  }

  const MemberView& type = event.type;
  if (!type.present) {
    error = field_error(index, "type", "missing");
    return false;
  }
  if (type.kind != json::kind::string) {
    error =
        field_error(index, "type", "must be a string, got " + std::string(kind_name(type.kind)));
    return false;
  }
  if (std::string problem = type_problem(type.text); !problem.empty()) {
    error = field_error(index, "type", problem);
    return false;
  }

  const MemberView& id = event.id;
  if (id.present) {
    if (id.kind != json::kind::string) {
      error = field_error(index, "id", "must be a string, got " + std::string(kind_name(id.kind)));
      return false;
    }
    if (std::string problem = id_problem(id.text); !problem.empty()) {
      error = field_error(index, "id", problem);
      return false;
    }
  } else if (source == Source::journal) {
    error = field_error(index, "id", "missing");
    return false;
  }

  const MemberView& timestamp = event.timestamp;
  if (timestamp.present) {
    if (timestamp.kind != json::kind::string) {
      error =
          field_error(index, "timestamp",
                      "must be a string (RFC 3339), got " + std::string(kind_name(timestamp.kind)));
      return false;
    }
    if (!parse_rfc3339(timestamp.text)) {
      error =
          field_error(index, "timestamp",
                      std::string("not an RFC 3339 date-time (e.g. ") + kExampleTimestamp + ")");
      return false;
    }
  } else if (source == Source::journal) {
    error = field_error(index, "timestamp", "missing");
    return false;
  }

  const MemberView& payload = event.payload;
  if (!payload.present) {
    error = field_error(index, "payload", "missing (must be a JSON object)");
    return false;
  }
  if (payload.kind != json::kind::object) {
    error = field_error(index, "payload",
                        "must be an object, got " + std::string(kind_name(payload.kind)));
    return false;
  }
  return true;
}

std::string numbers_error(std::ptrdiff_t index) {
  return field_error(index, "payload", "number out of range");
}

// Fills `out` from one event object; on failure returns false with `error`
// set.
bool read_event(const json::object& object, std::ptrdiff_t index, Source source, Event& out,
                std::string& error, bool* wide_integral = nullptr) {
  const json::value* type = nullptr;
  const json::value* id = nullptr;
  const json::value* timestamp = nullptr;
  const json::value* payload = nullptr;
  for (const auto& member : object) {
    std::string_view key = member.key();
    if (key == "type") {
      type = &member.value();
    } else if (key == "id") {
      id = &member.value();
    } else if (key == "timestamp") {
      timestamp = &member.value();
    } else if (key == "payload") {
      payload = &member.value();
    }
  }
  EventView view{view_of(type), view_of(id), view_of(timestamp), view_of(payload)};
  if (!check_event(view, index, source, error)) return false;
  bool wide = false;
  if (!all_numbers_finite(*payload, wide)) {
    error = numbers_error(index);
    return false;
  }

  out.type.assign(view.type.text);
  // check_event let a null id or timestamp through as absent.
  if (view.id.kind == json::kind::string) out.id.assign(view.id.text);
  if (view.timestamp.kind == json::kind::string) out.timestamp.assign(view.timestamp.text);
  if (wide && wide_integral) *wide_integral = true;
  out.payload_json = json::serialize(*payload);
  return true;
}

// The same for an event object the one-pass scan read (requests only).
bool read_scanned_event(event_detail::ScannedEvent& scanned, Event& out, std::string& error,
                        bool& wide_integral) {
  EventView view{view_of(scanned.type), view_of(scanned.id), view_of(scanned.timestamp),
                 view_of(scanned.payload)};
  if (!check_event(view, -1, Source::request, error)) return false;
  if (!scanned.payload_finite) {
    error = numbers_error(-1);
    return false;
  }
  out.type = std::move(scanned.type.text);
  if (scanned.id.kind == json::kind::string) out.id = std::move(scanned.id.text);
  if (scanned.timestamp.kind == json::kind::string) {
    out.timestamp = std::move(scanned.timestamp.text);
  }
  wide_integral = scanned.payload_wide_integral;
  out.payload_json = std::move(scanned.payload.text);
  return true;
}

// A Hoop webhook payload as Svix delivers it: an object with a string
// "event_type" and no "type". The whole body is the payload.
bool is_bare_hoop_payload(const json::object& object) {
  const json::value* type = object.if_contains("event_type");
  return type != nullptr && type->is_string() && !object.contains("type");
}

bool read_bare_hoop_payload(const json::object& object, Event& out, std::string& error,
                            bool& wide_integral) {
  std::string_view type = as_view(object.at("event_type").get_string());
  if (std::string problem = type_problem(type); !problem.empty()) {
    error = "event_type: " + problem;
    return false;
  }
  json::value payload(object);
  if (!all_numbers_finite(payload, wide_integral)) {
    error = "payload: number out of range";
    return false;
  }
  out.type.assign(type);
  out.payload_json = json::serialize(payload);
  return true;
}

// Parses `text` into `arena`. On failure returns a null value and sets `error`.
json::value parse_json(std::string_view text, std::size_t max_depth, json::storage_ptr arena,
                       std::string& error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    error = "body: empty (expected a JSON object or an array of objects)";
    return nullptr;
  }
  json::parse_options options;
  options.max_depth = max_depth;
  unsigned char stack[kParseStackBytes];
  json::parser parser(arena, options, stack, sizeof stack);
  // The constructor's resource is only the parser's scratch space: without
  // reset() the parsed value goes to the heap, one allocation per string.
  parser.reset(std::move(arena));
  boost::system::error_code ec;
  std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      error = "body: nested deeper than " + std::to_string(max_depth) + " levels at offset " +
              std::to_string(consumed);
    } else {
      error =
          "body: invalid JSON at offset " + std::to_string(consumed) + " (" + ec.message() + ")";
    }
    return nullptr;
  }
  return parser.release();
}

bool ids_unique(const std::vector<Event>& events, const std::vector<bool>& from_caller,
                std::string& error) {
  auto duplicate = [&](std::size_t first, std::size_t second) {
    error = field_error(
        static_cast<std::ptrdiff_t>(second), "id",
        "duplicate of events[" + std::to_string(first) + "].id \"" + events[second].id + "\"");
    return false;
  };
  // Typical batches are a handful of events: a scan beats hashing there.
  constexpr std::size_t kLinearScanMax = 16;
  if (events.size() <= kLinearScanMax) {
    for (std::size_t i = 1; i < events.size(); ++i) {
      if (!from_caller[i]) continue;
      for (std::size_t j = 0; j < i; ++j) {
        if (from_caller[j] && events[j].id == events[i].id) return duplicate(j, i);
      }
    }
    return true;
  }
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!from_caller[i]) continue;
    auto [it, inserted] = seen.emplace(events[i].id, i);
    if (!inserted) return duplicate(it->second, i);
  }
  return true;
}

// The rest of a request that is one event object, after its members passed.
Result<std::vector<Event>> finish_single_event(std::vector<Event> events, bool wide_integral,
                                               std::string_view body, const ParseOptions& options) {
  Event& event = events.front();
  if (wide_integral && has_wide_integer_literal(body)) {
    return make_error(field_error(-1, "payload", kWideIntegerProblem));
  }
  if (event.id.empty()) {
    if (options.default_id) {
      if (std::string problem = id_problem(*options.default_id); !problem.empty()) {
        return make_error("webhook-id: " + problem);
      }
      event.id = *options.default_id;
    } else {
      event.id = new_event_id();
    }
  }
  event.arrival_unix_ms = options.now_unix_ms != 0 ? options.now_unix_ms : now_unix_ms();
  if (event.timestamp.empty()) event.timestamp = format_rfc3339(event.arrival_unix_ms);
  return events;
}

}  // namespace

bool valid_event_id(std::string_view id) {
  return id_problem(id).empty();
}

bool valid_event_type(std::string_view type) {
  return type_problem(type).empty();
}

Result<std::vector<Event>> parse_events(std::string_view body, const ParseOptions& options) {
  std::string error;
  // Most requests are one event object: read in one pass, without a tree.
  // What the scan does not take (arrays, errors among them) the tree reads.
  if (event_detail::ScannedEvent scanned;
      event_detail::scan_event(body, options.max_depth, scanned)) {
    std::vector<Event> events(1);
    bool wide_integral = false;
    if (!read_scanned_event(scanned, events.front(), error, wide_integral)) {
      return make_error(std::move(error));
    }
    return finish_single_event(std::move(events), wide_integral, body, options);
  }

  unsigned char arena_buffer[kParseArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  json::value root = parse_json(body, options.max_depth, &arena, error);
  if (!error.empty()) return make_error(std::move(error));

  std::int64_t arrival = options.now_unix_ms != 0 ? options.now_unix_ms : now_unix_ms();
  std::vector<Event> events;

  if (root.is_object()) {
    events.resize(1);
    Event& event = events.front();
    bool wide_integral = false;
    const bool bare = is_bare_hoop_payload(root.get_object());
    if (bare ? !read_bare_hoop_payload(root.get_object(), event, error, wide_integral)
             : !read_event(root.get_object(), -1, Source::request, event, error, &wide_integral)) {
      return make_error(std::move(error));
    }
    return finish_single_event(std::move(events), wide_integral, body, options);
  }

  if (!root.is_array()) {
    return make_error("body: must be a JSON object or an array of objects, got " +
                      std::string(kind_name(root.kind())));
  }
  const json::array& array = root.get_array();
  if (array.empty()) return make_error("body: empty array (expected at least one event)");
  if (array.size() > options.max_events) {
    return make_error("body: " + std::to_string(array.size()) + " events, at most " +
                      std::to_string(options.max_events) + " per request");
  }

  events.resize(array.size());
  std::vector<bool> from_caller(array.size());
  std::string arrival_text;
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto index = static_cast<std::ptrdiff_t>(i);
    if (!array[i].is_object()) {
      return make_error(field_error(
          index, "", "must be an object, got " + std::string(kind_name(array[i].kind()))));
    }
    Event& event = events[i];
    bool wide_integral = false;
    if (!read_event(array[i].get_object(), index, Source::request, event, error, &wide_integral)) {
      return make_error(std::move(error));
    }
    if (wide_integral && has_wide_integer_literal(body)) {
      return make_error(field_error(index, "payload", kWideIntegerProblem));
    }
    from_caller[i] = !event.id.empty();
    if (event.id.empty()) event.id = new_event_id();
    event.arrival_unix_ms = arrival;
    if (event.timestamp.empty()) {
      if (arrival_text.empty()) arrival_text = format_rfc3339(arrival);
      event.timestamp = arrival_text;
    }
  }
  if (!ids_unique(events, from_caller, error)) return make_error(std::move(error));
  return events;
}

Result<Event> from_json(std::string_view text) {
  unsigned char arena_buffer[kParseArenaBytes];
  json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
  std::string error;
  json::value root = parse_json(text, kJournalMaxDepth, &arena, error);
  if (!error.empty()) return make_error(std::move(error));
  if (!root.is_object()) {
    return make_error("event: must be a JSON object, got " + std::string(kind_name(root.kind())));
  }
  Event event;
  if (!read_event(root.get_object(), -1, Source::journal, event, error)) {
    return make_error(std::move(error));
  }
  return event;
}

std::string hook_script_name(std::string_view type) {
  std::string name(type);
  std::replace(name.begin(), name.end(), '.', '-');
  name += ".runbook.py";
  return name;
}

}  // namespace hookd
