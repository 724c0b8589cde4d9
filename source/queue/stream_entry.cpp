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

std::optional<StreamEntry> stream_entry_from_fields(std::string stream_id,
                                                    const StreamFields& fields) {
  StreamEntry entry;
  entry.stream_id = std::move(stream_id);
  for (const auto& [name, value] : fields) {
    if (name == "d") entry.dead_letter = value;
    if (name == "o") entry.only_for = value;
    if (name == "i") entry.event.id = value;
  }
  if (!entry.dead_letter.empty()) {
    if (entry.only_for.empty() || entry.event.id.empty()) return std::nullopt;
    return entry;
  }
  auto event = event_from_fields(fields);
  if (!event) return std::nullopt;
  entry.event = std::move(*event);
  entry.only_for.clear();
  return entry;
}

std::string retry_note_text(const RetryNote& note) {
  return std::to_string(note.failures) + ":" + std::to_string(note.due_unix_ms);
}

std::optional<RetryNote> parse_retry_note(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  RetryNote note;
  const char* end = text.data() + colon;
  auto [f_end, f_ec] = std::from_chars(text.data(), end, note.failures);
  if (f_ec != std::errc() || f_end != end || note.failures == 0) return std::nullopt;
  const char* due = end + 1;
  auto [d_end, d_ec] = std::from_chars(due, text.data() + text.size(), note.due_unix_ms);
  if (d_ec != std::errc() || d_end != text.data() + text.size()) return std::nullopt;
  return note;
}

}  // namespace hookd
