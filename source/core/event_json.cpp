// Writing events as JSON: the body every webhook endpoint receives.
#include <string>
#include <string_view>

#include "hookd/core/event.h"

namespace hookd {
namespace {

// Writes `text` as a JSON string. Ids, types and timestamps that passed
// validation need no escaping; the slow path is for hand-built Events.
void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string to_json(const Event& event) {
  std::string out;
  out.reserve(event.id.size() + event.type.size() + event.timestamp.size() +
              event.payload_json.size() + 48);
  out += "{\"id\":";
  append_json_string(out, event.id);
  out += ",\"type\":";
  append_json_string(out, event.type);
  out += ",\"timestamp\":";
  append_json_string(out, event.timestamp);
  out += ",\"payload\":";
  // An Event built by hand may carry no payload; keep the output valid JSON.
  out += event.payload_json.empty() ? std::string_view("{}") : std::string_view(event.payload_json);
  out += '}';
  return out;
}

}  // namespace hookd
