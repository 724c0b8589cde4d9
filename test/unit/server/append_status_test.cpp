// append_refusal: the HTTP answer every appending route gives for each
// journal result, and the Retry-After it carries.
#include <catch2/catch.hpp>

#include "hookd/server/append_status.h"

using namespace hookd;
using namespace std::chrono_literals;

namespace {

AppendResult result(AppendResult::Code code, std::chrono::milliseconds retry_after = 0ms) {
  AppendResult r;
  r.code = code;
  r.message = "why";
  r.retry_after = retry_after;
  return r;
}

}  // namespace

TEST_CASE("append refusals: status, reason and Retry-After per journal result") {
  CHECK_FALSE(append_refusal(result(AppendResult::Code::ok)).has_value());

  struct Row {
    AppendResult::Code code;
    std::chrono::milliseconds probe;
    int status;
    bool retry_later;
    int retry_after_given_5;  // configured --retry-after 5s
  };
  const Row rows[] = {
      {AppendResult::Code::full, 0ms, 503, true, 5},
      {AppendResult::Code::busy, 0ms, 429, true, 5},
      {AppendResult::Code::no_space, 100ms, 507, true, 5},   // probe sooner than configured
      {AppendResult::Code::no_space, 7001ms, 507, true, 8},  // probe later: at least that
      {AppendResult::Code::failed, 2500ms, 503, true, 5},    // probing again: worth a retry
      {AppendResult::Code::failed, 9000ms, 503, true, 9},
      {AppendResult::Code::failed, 0ms, 500, false, 5},  // closed for good
  };
  for (const Row& row : rows) {
    INFO("code " << static_cast<int>(row.code) << " probe " << row.probe.count() << "ms");
    auto refusal = append_refusal(result(row.code, row.probe));
    REQUIRE(refusal.has_value());
    CHECK(refusal->status == row.status);
    CHECK(refusal->retry_later == row.retry_later);
    CHECK_FALSE(refusal->reason.empty());
    CHECK(refusal->retry_after_seconds(5) == row.retry_after_given_5);
  }
}
