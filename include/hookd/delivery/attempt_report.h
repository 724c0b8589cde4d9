// AttemptReport: one delivery attempt as an endpoint worker reports it to
// whoever keeps attempts (the Svix attempts API). A value type.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace hookd {

struct AttemptReport {
  std::string endpoint;  // the worker's name (for an API endpoint, its id)
  std::string event_id;  // the event (message) attempted
  std::string app_id;    // a Svix API endpoint's application; "" for others
  std::string url;
  int status_code = 0;  // 0: no HTTP answer
  bool success = false;
  std::string response;  // the first KiB of the answer's body, or the error
  std::int64_t started_ms = 0;
  std::int64_t duration_ms = 0;
  bool manual = false;  // resent by hand, not by the schedule
};

// Called on the worker's io_context for every attempt; must not block.
using AttemptListener = std::function<void(AttemptReport)>;

}  // namespace hookd
