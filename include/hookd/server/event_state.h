// The `state` GET /v1/events/{id} gives an event, derived from what its
// consumers report: accepted (no consumer has begun on it), processing (a
// hook or a delivery is still pending), done (every consumer finished with
// it), failed (a delivery was dead-lettered or the hook did not succeed).
// A pure function, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookd {

struct EventProgress {
  // Journal consumers (the hook runner) that have not yet passed the event:
  // its run is queued or running.
  bool consumer_behind = false;
  // The hook run's outcome ("running", "ok", "failed", "timeout", ...);
  // nullopt when no run is known.
  std::optional<std::string> hook_outcome;
  // One per endpoint: "pending", "delivered", "dead_letter", "filtered".
  std::vector<std::string> delivery_states;
  bool delivery_attempted = false;  // some endpoint has made an attempt
};

std::string_view event_state(const EventProgress& progress);

}  // namespace hookd
