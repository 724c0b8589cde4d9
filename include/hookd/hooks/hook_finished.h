// hook.finished: each finished hook run, journaled as an event of its own so
// that endpoints subscribed to it (a SIEM) learn what the hooks did. Its
// payload is {event_id, event_type, sid, script, commit, exit_code, outcome,
// duration_ms, output}. No hook runs for hook.* events, so hooks never feed
// on their own outcomes. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hookd/core/event.h"

namespace hookd {

struct HookResultRecord;

inline constexpr std::string_view kHookFinishedType = "hook.finished";

// Whether `type` is one hookd journals about its hooks (hook.*).
bool is_hook_event(std::string_view type);

// "hookfin_" + 32 hex digits of SHA-256 over the event id and its arrival:
// the same for every run of one arrival, so a run repeated after a crash
// finds its hook.finished already journaled instead of adding a second.
std::string hook_finished_id(std::string_view event_id, std::int64_t arrival_unix_ms);

// The hook.finished event for a recorded run: its timestamp is the run's
// end, its arrival `now_unix_ms`.
Event hook_finished_event(const HookResultRecord& record, std::int64_t now_unix_ms);

}  // namespace hookd
