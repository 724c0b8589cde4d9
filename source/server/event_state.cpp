#include "hookd/server/event_state.h"

#include <algorithm>

namespace hookd {

std::string_view event_state(const EventProgress& progress) {
  const auto& states = progress.delivery_states;
  const bool hook_failed = progress.hook_outcome && *progress.hook_outcome != "ok" &&
                           *progress.hook_outcome != "running";
  // Failed wins over pending: nothing that happens next undoes it.
  if (hook_failed || std::count(states.begin(), states.end(), "dead_letter") > 0) return "failed";

  const bool delivery_pending = std::count(states.begin(), states.end(), "pending") > 0;
  const bool hook_pending = progress.consumer_behind || progress.hook_outcome == "running";
  if (delivery_pending || hook_pending) {
    // Nothing has happened yet: no run started, no attempt made.
    const bool begun = progress.hook_outcome.has_value() || progress.delivery_attempted ||
                       std::any_of(states.begin(), states.end(),
                                   [](const std::string& s) { return s != "pending"; });
    return begun ? "processing" : "accepted";
  }
  return "done";
}

}  // namespace hookd
