// Generated event ids for events that arrive without one.
#pragma once

#include <string>

namespace hookd {

// A new id: "evt_" + 26 Crockford base32 chars (ULID: ms timestamp + random),
// so ids sort by creation time. Thread-safe and unique within the process.
std::string new_event_id();

}  // namespace hookd
