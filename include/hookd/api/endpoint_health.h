// EndpointHealth: how long an API endpoint has been failing without a
// single success, as its attempts tell in order, and whether that is long
// enough to disable it (--endpoint-disable-after; Svix's figure is 5 days).
// A value type and a pure function; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

namespace hookd::api {

struct EndpointHealth {
  // The first failed attempt since the last successful one; nullopt while
  // the newest attempt succeeded (or none was made).
  std::optional<std::int64_t> failing_since_ms;

  void record(bool success, std::int64_t at_ms) {
    if (success) {
      failing_since_ms.reset();
    } else if (!failing_since_ms) {
      failing_since_ms = at_ms;
    }
  }
};

// True once the endpoint has failed without a success for `disable_after_ms`.
inline bool should_disable(const EndpointHealth& health, std::int64_t now_ms,
                           std::int64_t disable_after_ms) {
  return health.failing_since_ms && now_ms - *health.failing_since_ms >= disable_after_ms;
}

}  // namespace hookd::api
