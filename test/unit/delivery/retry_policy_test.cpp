// RetryPolicy: the next attempt's wait (or give-up) as a pure function of
// the failure count, the attempt's outcome, the clock and the random draw.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hookd/delivery/retry_policy.h"

using hookd::AttemptOutcome;
using hookd::RetryPolicy;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// Thu, 25 Feb 2021 15:02:10 GMT
constexpr std::int64_t kNow = 1614265330;

const RetryPolicy& policy() {
  // Three retries, so four attempts; jitter +-20 %; throttles wait >= 60 s.
  static const RetryPolicy p({seconds(1), seconds(10), seconds(100)}, 0.2, seconds(60));
  return p;
}

AttemptOutcome http(int status, std::string retry_after = "") {
  AttemptOutcome o;
  o.status = status;
  o.retry_after = std::move(retry_after);
  return o;
}

AttemptOutcome transport(std::string error) {
  AttemptOutcome o;
  o.error = std::move(error);
  return o;
}

struct Row {
  const char* what;
  std::size_t failures;
  AttemptOutcome outcome;
  double random01;
  std::optional<milliseconds> wait;  // nullopt: give up
};

void check_rows(const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    INFO(row.what);
    auto wait = policy().next_attempt(row.failures, row.outcome, kNow, row.random01);
    CHECK(wait == row.wait);
  }
}

}  // namespace

TEST_CASE("retry policy: the schedule, step by step, then give up") {
  check_rows({
      {"after the 1st failure", 1, http(500), 0.5, seconds(1)},
      {"after the 2nd", 2, http(500), 0.5, seconds(10)},
      {"after the 3rd (the last entry)", 3, http(500), 0.5, seconds(100)},
      {"after the 4th: the schedule is used up", 4, http(500), 0.5, std::nullopt},
      {"far beyond it", 50, http(500), 0.5, std::nullopt},
      {"a transport error follows the schedule too", 2, transport("connect: refused"), 0.5,
       seconds(10)},
      {"a throttle gives up at the same point", 4, http(429), 0.5, std::nullopt},
      {"no failure yet is no retry", 0, http(500), 0.5, std::nullopt},
  });
  CHECK(policy().max_attempts() == 4);
  CHECK(RetryPolicy().max_attempts() == hookd::default_retry_schedule().size() + 1);
}

TEST_CASE("retry policy: jitter spreads each wait over [1 - j, 1 + j]") {
  check_rows({
      {"random 0: the low end", 2, http(500), 0.0, milliseconds(8000)},
      {"random 0.5: as scheduled", 2, http(500), 0.5, milliseconds(10000)},
      {"random 1: the high end", 2, http(500), 1.0, milliseconds(12000)},
      {"random 0.25", 2, http(500), 0.25, milliseconds(9000)},
      {"random below 0 is clamped", 2, http(500), -3.0, milliseconds(8000)},
      {"random above 1 is clamped", 2, http(500), 7.0, milliseconds(12000)},
  });
  const RetryPolicy no_jitter({seconds(10)}, 0.0, seconds(0));
  for (double r : {0.0, 0.5, 1.0}) {
    INFO("random " << r);
    CHECK(no_jitter.next_attempt(1, http(500), kNow, r) == seconds(10));
  }
}

TEST_CASE("retry policy: Retry-After is honoured within [scheduled, 2 x scheduled]") {
  check_rows({
      {"seconds below the schedule: the schedule", 2, http(503, "5"), 0.5, seconds(10)},
      {"seconds inside: as asked", 2, http(503, "15"), 0.5, seconds(15)},
      {"seconds above: twice the schedule", 2, http(503, "3600"), 0.5, seconds(20)},
      {"an HTTP-date 15 s ahead", 2, http(503, "Thu, 25 Feb 2021 15:02:25 GMT"), 0.5, seconds(15)},
      {"an HTTP-date an hour ahead", 2, http(503, "Thu, 25 Feb 2021 16:02:10 GMT"), 0.5,
       seconds(20)},
      {"an HTTP-date in the past", 2, http(503, "Thu, 25 Feb 2021 14:00:00 GMT"), 0.5, seconds(10)},
      {"an RFC 850 date", 2, http(503, "Thursday, 25-Feb-21 15:02:22 GMT"), 0.5, seconds(12)},
      {"an asctime date", 2, http(503, "Thu Feb 25 15:02:27 2021"), 0.5, seconds(17)},
      {"unreadable: ignored", 2, http(503, "soon"), 0.5, seconds(10)},
      {"the clamp follows the jitter (low)", 2, http(503, "100"), 0.0, seconds(16)},
      {"the clamp follows the jitter (high)", 2, http(503, "1"), 1.0, seconds(12)},
      {"Retry-After never revives a used-up schedule", 4, http(503, "1"), 0.5, std::nullopt},
  });
}

TEST_CASE("retry policy: throttles (429, 502, 504, timeouts) wait at least the minimum") {
  check_rows({
      {"429", 1, http(429), 0.5, seconds(60)},
      {"502", 1, http(502), 0.5, seconds(60)},
      {"504", 1, http(504), 0.5, seconds(60)},
      {"a timeout", 1, transport("timeout: read 127.0.0.1:9 after 100 ms"), 0.5, seconds(60)},
      {"500 is not a throttle", 1, http(500), 0.5, seconds(1)},
      {"503 is not a throttle", 1, http(503), 0.5, seconds(1)},
      {"a refused connection is not", 1, transport("connect: connect 127.0.0.1:9: refused"), 0.5,
       seconds(1)},
      {"a TLS failure is not", 1, transport("tls: certificate verify failed"), 0.5, seconds(1)},
      {"a schedule step above the minimum stands", 3, http(429), 0.5, seconds(100)},
      {"Retry-After clamped first, then the minimum", 1, http(429, "30"), 0.5, seconds(60)},
      {"a long Retry-After on a long step", 3, http(429, "150"), 0.5, seconds(150)},
  });
}

TEST_CASE("attempt outcomes: what a response or an error means for retrying") {
  using hookd::IncomingResponse;
  using hookd::Result;
  struct Case {
    const char* what;
    Result<IncomingResponse> response;
    int status;
    bool success, throttled, gone;
    const char* retry_after;
    const char* description;
  };
  const std::vector<Case> cases = {
      {"200", IncomingResponse{200, {{"retry-after", "9"}}, ""}, 200, true, false, false, "",
       "HTTP 200"},
      {"204", IncomingResponse{204, {}, ""}, 204, true, false, false, "", "HTTP 204"},
      {"429 with Retry-After", IncomingResponse{429, {{"retry-after", "7"}}, "slow down"}, 429,
       false, true, false, "7", "HTTP 429"},
      {"410", IncomingResponse{410, {}, ""}, 410, false, false, true, "", "HTTP 410"},
      {"301 is a failure", IncomingResponse{301, {{"location", "/x"}}, ""}, 301, false, false,
       false, "", "HTTP 301"},
      {"timeout", hookd::Error{"timeout: connect x after 5 ms"}, 0, false, true, false, "",
       "timeout: connect x after 5 ms"},
      {"closed", hookd::Error{"closed: the client was closed"}, 0, false, false, false, "",
       "closed: the client was closed"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    AttemptOutcome o = hookd::outcome_of(c.response);
    CHECK(o.status == c.status);
    CHECK(o.success() == c.success);
    CHECK(o.throttled() == c.throttled);
    CHECK(o.gone() == c.gone);
    CHECK(o.retry_after == c.retry_after);
    CHECK(o.description() == c.description);
  }
}

TEST_CASE("retry policy: a failed dead-letter write waits the longest step, at least 1 s") {
  CHECK(policy().dead_letter_write_retry() == seconds(100));
  CHECK(RetryPolicy({milliseconds(200)}, 0.2, seconds(60)).dead_letter_write_retry() == seconds(1));
  CHECK(RetryPolicy({}, 0.2, seconds(60)).dead_letter_write_retry() == seconds(5));
}

TEST_CASE("delivery durations: units, fractions and the one-year bound") {
  struct Case {
    const char* text;
    std::optional<milliseconds> value;
  };
  const std::vector<Case> cases = {
      {"250ms", milliseconds(250)},
      {"5s", seconds(5)},
      {"1.5s", milliseconds(1500)},
      {"3", seconds(3)},
      {" 2m ", std::chrono::minutes(2)},
      {"2h", std::chrono::hours(2)},
      {"0", milliseconds(0)},
      {"8784h", std::chrono::hours(8784)},
      {"", std::nullopt},
      {"s", std::nullopt},
      {"5x", std::nullopt},
      {"1e3", std::nullopt},
      {"-5s", std::nullopt},
      {"8785h", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO('"' << c.text << '"');
    auto d = hookd::parse_delivery_duration(c.text);
    REQUIRE(d.ok() == c.value.has_value());
    if (c.value) {
      CHECK(*d == *c.value);
    } else {
      CHECK(d.error().message.find(c.text) != std::string::npos);
    }
  }
}
