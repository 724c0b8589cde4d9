#include "hookd/queue/stream_entry.h"

#include <charconv>

namespace hookd {

StreamFields stream_fields(const Event& event) {
  return {{"e", to_json(event)},
          {"a", std::to_string(event.arrival_unix_ms)},
          {"m", event.message ? encode_message_fields(*event.message) : std::string()}};
}

std::optional<Event> event_from_fields(const StreamFields& fields) {
  const std::string* json = nullptr;
  const std::string* arrival = nullptr;
  const std::string* message = nullptr;
  for (const auto& [name, value] : fields) {
    if (name == "e") json = &value;
    if (name == "a") arrival = &value;
    if (name == "m") message = &value;
  }
  if (json == nullptr) return std::nullopt;
  auto event = from_json(*json);
  if (!event) return std::nullopt;
  if (arrival != nullptr) {
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(arrival->data(), arrival->data() + arrival->size(), ms);
    if (ec == std::errc() && end == arrival->data() + arrival->size()) event->arrival_unix_ms = ms;
  }
  if (message != nullptr && !message->empty()) {
    event->message = decode_message_fields(*message);
    if (!event->message) return std::nullopt;
  }
  return std::move(event).value();
}

}  // namespace hookd
