// How an Event is stored as the fields of one Redis stream entry, and back.
// Pure functions; the field names are part of the stored format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

// One entry a group hands this node. A replayed dead letter (written by the
// replay script, not by append) has "i" (its event id), "d" (its line) and
// "o" (the one group it is for) instead of "e", "a" and "m".
struct StreamEntry {
  std::string stream_id;
  Event event;              // a replayed dead letter: its id only
  std::string dead_letter;  // the replayed dead letter's line; empty for an event
  std::string only_for;     // the group a replay is for; empty: every group
};

// nullopt when the fields are neither an event nor a replayed dead letter.
std::optional<StreamEntry> stream_entry_from_fields(std::string stream_id,
                                                    const StreamFields& fields);

// A pending retry of one entry in one group, as the retry hash stores it
// (field: the entry id, value "<failures>:<due unix ms>").
struct RetryNote {
  std::size_t failures = 0;
  std::int64_t due_unix_ms = 0;
};
std::string retry_note_text(const RetryNote& note);
// nullopt when the text is not "<failures>:<due>" with failures > 0.
std::optional<RetryNote> parse_retry_note(std::string_view text);

}  // namespace hookd
