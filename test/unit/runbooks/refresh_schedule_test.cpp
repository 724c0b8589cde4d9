// When the runbooks worker fetches next, as a table of (ttl, retry_min,
// consecutive failures) -> delay.
#include "hookd/runbooks/refresh_schedule.h"

#include <catch2/catch.hpp>
#include <limits>

using namespace hookd;
using namespace std::chrono_literals;

TEST_CASE("refresh schedule table: TTL after success, doubling back-off up to the TTL",
          "[refresh_schedule]") {
  struct {
    std::chrono::seconds ttl;
    std::chrono::seconds retry_min;
    std::uint64_t failures;
    std::chrono::seconds delay;
  } rows[] = {
      {300s, 5s, 0, 300s},  // success: the TTL
      {300s, 5s, 1, 5s},
      {300s, 5s, 2, 10s},
      {300s, 5s, 3, 20s},
      {300s, 5s, 4, 40s},
      {300s, 5s, 6, 160s},
      {300s, 5s, 7, 300s},  // 320 s capped at the TTL
      {300s, 5s, 100, 300s},
      {300s, 5s, std::numeric_limits<std::uint64_t>::max(), 300s},  // no overflow, no endless loop
      {60s, 5s, 4, 40s},
      {60s, 5s, 5, 60s},
      {3s, 5s, 1, 3s},  // retry_min above the TTL: the TTL
      {3s, 5s, 0, 3s},
      {0s, 0s, 0, 1s},  // under 1 s counts as 1 s
      {0s, 0s, 3, 1s},
      {10s, 0s, 1, 1s},
      {10s, 0s, 4, 8s},
      {10s, 0s, 5, 10s},
      {-5s, -5s, 2, 1s},
  };
  for (const auto& row : rows) {
    INFO("ttl " << row.ttl.count() << " s, retry_min " << row.retry_min.count() << " s, failures "
                << row.failures);
    RefreshSchedule schedule(row.ttl, row.retry_min);
    CHECK(schedule.next_fetch_in(row.failures) == row.delay);
  }
}

TEST_CASE("refresh schedule: the delay never shrinks while failures go on", "[refresh_schedule]") {
  RefreshSchedule schedule(3600s, 5s);
  CHECK(schedule.ttl() == 3600s);
  auto previous = schedule.next_fetch_in(1);
  for (std::uint64_t failures = 2; failures < 40; ++failures) {
    auto delay = schedule.next_fetch_in(failures);
    CHECK(delay >= previous);
    CHECK(delay <= schedule.ttl());
    previous = delay;
  }
  CHECK(previous == schedule.ttl());
}
