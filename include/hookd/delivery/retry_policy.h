// RetryPolicy: when a failed delivery attempt is tried again, or given up
// (dead-lettered). The schedule's waits are jittered, a Retry-After answer
// may stretch a wait up to twice the schedule, and throttles (429, 502, 504,
// timeouts) wait at least a minimum. Pure functions of their arguments; the
// caller draws the random number. Immutable; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/https_client.h"

namespace hookd {

// One duration as --retry-schedule and an endpoint's timeout= write it:
// "250ms", "5s", "1.5s", "5m", "2h"; a bare number is seconds; at most a year.
Result<std::chrono::milliseconds> parse_delivery_duration(std::string_view text);

// Comma-separated durations: "5s,5m,30m,2h". Entry i is the wait after failed
// attempt i+1, so N entries mean N+1 attempts in all.
Result<std::vector<std::chrono::milliseconds>> parse_retry_schedule(std::string_view text);

std::vector<std::chrono::milliseconds> default_retry_schedule();  // 5s,5m,30m,2h,5h,10h,10h

// A Retry-After value (delta-seconds or HTTP-date) as a wait from `now_unix`.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_unix);

// The wait before the next attempt: scheduled * (1 + jitter * (2 * random01 - 1)),
// then Retry-After clamped to [that, 2 x that], then at least `min_throttled`
// when the failure was a throttle (429, 502, 504, timeout).
std::chrono::milliseconds retry_delay(std::chrono::milliseconds scheduled, double jitter,
                                      double random01,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      bool throttled, std::chrono::milliseconds min_throttled);

// What one attempt came back with, as far as retrying and counting go.
struct AttemptOutcome {
  int status = 0;           // the HTTP status; 0 when no response came
  std::string error;        // without a response: the client's error ("timeout: ...")
  std::string retry_after;  // the response's Retry-After header, "" when absent
  // A file or syslog transport took the batch: success without an HTTP status.
  bool accepted = false;

  bool success() const { return accepted || (status >= 200 && status < 300); }
  // The endpoint asks to slow down: 429, 502, 504, or the attempt timed out.
  bool throttled() const;
  // 410 Gone: the endpoint is disabled until re-enabled, the attempt not counted.
  bool gone() const { return status == 410; }
  // For logs and GET /v1/endpoints: the error, or "HTTP <status>".
  std::string description() const;
};

AttemptOutcome outcome_of(const Result<IncomingResponse>& response);

class RetryPolicy {
 public:
  explicit RetryPolicy(std::vector<std::chrono::milliseconds> schedule = default_retry_schedule(),
                       double jitter = 0.2,
                       std::chrono::milliseconds min_throttled = std::chrono::seconds(60));

  // After `failures` failed attempts (1 after the first), the last one ending
  // with `outcome` at `now_unix` (seconds; for an HTTP-date Retry-After): the
  // wait before the next attempt, or nullopt when the schedule is used up and
  // the events are dead-lettered. `random01` in [0, 1] picks the jitter.
  std::optional<std::chrono::milliseconds> next_attempt(std::size_t failures,
                                                        const AttemptOutcome& outcome,
                                                        std::int64_t now_unix,
                                                        double random01) const;

  // A dead-letter write failed: wait the schedule's last (longest) step, at
  // least a second, before trying the write again.
  std::chrono::milliseconds dead_letter_write_retry() const;

  std::size_t max_attempts() const { return schedule_.size() + 1; }

 private:
  std::vector<std::chrono::milliseconds> schedule_;
  double jitter_;
  std::chrono::milliseconds min_throttled_;
};

}  // namespace hookd
