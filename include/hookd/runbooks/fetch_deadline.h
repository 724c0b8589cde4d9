// The deadline of one fetch, as a value: whether it has passed and how long a
// socket wait may last are pure functions of the clock reading passed in.
// Thread-compatible (a value type).
#pragma once

#include <chrono>

namespace hookd {

class FetchDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  // Never expires.
  FetchDeadline() = default;
  // Expires `timeout` after `start`.
  FetchDeadline(Clock::time_point start, Clock::duration timeout);

  Clock::time_point at() const { return at_; }
  bool expired(Clock::time_point now) const { return now >= at_; }
  // Zero once expired.
  Clock::duration remaining(Clock::time_point now) const;
  // A poll(2) timeout that wakes no later than the deadline: the remaining
  // time rounded up to whole milliseconds, at most `longest_wait` (so a
  // deadline far away never overflows an int); 0 once expired.
  int poll_timeout_ms(Clock::time_point now,
                      std::chrono::milliseconds longest_wait = std::chrono::minutes(1)) const;

  friend bool operator==(const FetchDeadline&, const FetchDeadline&) = default;

 private:
  Clock::time_point at_ = Clock::time_point::max();
};

}  // namespace hookd
