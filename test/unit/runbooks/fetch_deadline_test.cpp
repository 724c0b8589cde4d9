// The fetch deadline as a table: start, timeout and the clock reading in,
// expired / remaining / poll timeout out. No clock is read here.
#include "hookd/runbooks/fetch_deadline.h"

#include <catch2/catch.hpp>

using namespace hookd;
using namespace std::chrono_literals;
using Clock = FetchDeadline::Clock;

TEST_CASE("fetch deadline table: expired, remaining, poll timeout", "[fetch_deadline]") {
  const Clock::time_point start = Clock::time_point() + 1000h;
  struct {
    Clock::duration timeout;
    Clock::duration elapsed;
    bool expired;
    Clock::duration remaining;
    int poll_ms;
  } rows[] = {
      {60s, 0s, false, 60s, 60'000},
      {60s, 1ms, false, 60s - 1ms, 59'999},
      {60s, 59s, false, 1s, 1'000},
      {60s, 60s - 1ns, false, 1ns, 1},  // rounded up: a poll never wakes early and spins
      {60s, 60s - 1500us, false, 1500us, 2},
      {60s, 60s, true, 0s, 0},  // the deadline itself counts as passed
      {60s, 61s, true, 0s, 0},
      {600s, 0s, false, 600s, 60'000},  // one wait is a minute at most
      {600s, 540s, false, 60s, 60'000},
      {600s, 541s, false, 59s, 59'000},
      {1s, 0s, false, 1s, 1'000},
      {0s, 0s, true, 0s, 0},
  };
  for (const auto& row : rows) {
    INFO("timeout " << row.timeout.count() << " ns, elapsed " << row.elapsed.count() << " ns");
    FetchDeadline deadline(start, row.timeout);
    Clock::time_point now = start + row.elapsed;
    CHECK(deadline.at() == start + row.timeout);
    CHECK(deadline.expired(now) == row.expired);
    CHECK(deadline.remaining(now) == row.remaining);
    CHECK(deadline.poll_timeout_ms(now) == row.poll_ms);
  }
}

TEST_CASE("fetch deadline: the longest wait is a parameter", "[fetch_deadline]") {
  const Clock::time_point start = Clock::time_point() + 1h;
  FetchDeadline deadline(start, 10s);
  CHECK(deadline.poll_timeout_ms(start, 250ms) == 250);
  CHECK(deadline.poll_timeout_ms(start + 9900ms, 250ms) == 100);
  CHECK(deadline.poll_timeout_ms(start + 10s, 250ms) == 0);
}

TEST_CASE("fetch deadline: the default one never expires and never overflows", "[fetch_deadline]") {
  FetchDeadline never;
  for (Clock::time_point now :
       {Clock::time_point(), Clock::time_point() + 100000h, Clock::time_point::max() - 1h}) {
    CHECK_FALSE(never.expired(now));
    CHECK(never.remaining(now) > 1h - 1ns);
    CHECK(never.poll_timeout_ms(now) == 60'000);
  }
  // A timeout too long to add saturates instead of wrapping into the past.
  FetchDeadline huge(Clock::time_point() + 1h, Clock::duration::max());
  CHECK(huge == never);
  CHECK_FALSE(huge.expired(Clock::time_point() + 2h));
}

TEST_CASE("fetch deadline: equal when they end at the same instant", "[fetch_deadline]") {
  const Clock::time_point start = Clock::time_point() + 1h;
  CHECK(FetchDeadline(start, 10s) == FetchDeadline(start + 4s, 6s));
  CHECK_FALSE(FetchDeadline(start, 10s) == FetchDeadline(start, 11s));
}
