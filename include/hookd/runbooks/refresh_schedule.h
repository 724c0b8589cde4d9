// When the runbooks worker fetches next: a TTL after a success; after
// consecutive failures a back-off from retry_min, doubling per failure, never
// beyond the TTL (a remote that is down is not hammered, and one that comes
// back is seen within a TTL). Pure; thread-compatible (a value type).
#pragma once

#include <chrono>
#include <cstdint>

namespace hookd {

class RefreshSchedule {
 public:
  // Values under 1 s count as 1 s.
  RefreshSchedule(std::chrono::seconds ttl, std::chrono::seconds retry_min);

  std::chrono::seconds ttl() const { return ttl_; }
  // Delay from the end of a fetch to the next one; 0 failures: the fetch succeeded.
  std::chrono::seconds next_fetch_in(std::uint64_t consecutive_failures) const;

 private:
  std::chrono::seconds ttl_;
  std::chrono::seconds retry_min_;
};

}  // namespace hookd
