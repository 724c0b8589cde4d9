#include "hookd/runbooks/fetch_deadline.h"

#include <algorithm>

namespace hookd {

FetchDeadline::FetchDeadline(Clock::time_point start, Clock::duration timeout)
    : at_(timeout >= Clock::time_point::max() - start ? Clock::time_point::max()
                                                      : start + timeout) {}

FetchDeadline::Clock::duration FetchDeadline::remaining(Clock::time_point now) const {
  return expired(now) ? Clock::duration::zero() : at_ - now;
}

int FetchDeadline::poll_timeout_ms(Clock::time_point now,
                                   std::chrono::milliseconds longest_wait) const {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(remaining(now));
  return static_cast<int>(std::min(ms, longest_wait).count());
}

}  // namespace hookd
