#include "hookd/runbooks/refresh_schedule.h"

#include <algorithm>

namespace hookd {

RefreshSchedule::RefreshSchedule(std::chrono::seconds ttl, std::chrono::seconds retry_min)
    : ttl_(std::max<std::chrono::seconds>(ttl, std::chrono::seconds(1))),
      retry_min_(std::max<std::chrono::seconds>(retry_min, std::chrono::seconds(1))) {}

std::chrono::seconds RefreshSchedule::next_fetch_in(std::uint64_t consecutive_failures) const {
  if (consecutive_failures == 0) return ttl_;
  auto delay = retry_min_;
  for (std::uint64_t i = 1; i < consecutive_failures && delay < ttl_; ++i)
    delay *= 2;
  return std::min(delay, ttl_);
}

}  // namespace hookd
