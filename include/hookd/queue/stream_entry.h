// How an Event is stored as the fields of one Redis stream entry, and back.
// Pure functions; the field names are part of the stored format.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/event.h"

namespace hookd {

using StreamFields = std::vector<std::pair<std::string, std::string>>;

// "e": the event as to_json writes it, "a": arrival (unix ms), "m": the Svix
// message fields (encode_message_fields) or empty.
StreamFields stream_fields(const Event& event);

// nullopt when "e" is missing or not an event.
std::optional<Event> event_from_fields(const StreamFields& fields);

}  // namespace hookd
