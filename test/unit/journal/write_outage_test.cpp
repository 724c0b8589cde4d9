// What the journal does after a failed write, as tables: which answer
// appenders get, the metric label, and when the disk is probed again.
#include "hookd/journal/write_outage.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <vector>

using hookd::AppendResult;
using hookd::journal_detail::errno_label;
using hookd::journal_detail::outage_code;
using hookd::journal_detail::probe_delay;
using hookd::journal_detail::WriteOutage;
using namespace std::chrono_literals;

TEST_CASE("a full disk answers no_space and every other error failed", "[journal][outage]") {
  using Code = AppendResult::Code;
  struct Case {
    int error_number;
    Code code;
    const char* label;
  };
  const std::vector<Case> cases{
      {ENOSPC, Code::no_space, "ENOSPC"}, {EDQUOT, Code::no_space, "EDQUOT"},
      {EIO, Code::failed, "EIO"},         {EFBIG, Code::failed, "EFBIG"},
      {EROFS, Code::failed, "EROFS"},     {EBADF, Code::failed, "other"},
      {0, Code::failed, "other"},
  };
  for (const auto& c : cases) {
    INFO(c.label << " " << c.error_number);
    CHECK(outage_code(c.error_number) == c.code);
    CHECK(std::string(errno_label(c.error_number)) == c.label);
  }
}

TEST_CASE("the disk is probed after 100 ms, doubling to at most 5 s", "[journal][outage]") {
  const std::vector<std::chrono::milliseconds> want{100ms,  200ms,  400ms,  800ms,
                                                    1600ms, 3200ms, 5000ms, 5000ms};
  for (unsigned failures = 1; failures <= want.size(); ++failures) {
    INFO(failures);
    CHECK(probe_delay(failures) == want[failures - 1]);
  }
  CHECK(probe_delay(1000) == 5000ms);
}

TEST_CASE("an outage lasts until a probe passes and backs off until a commit does",
          "[journal][outage]") {
  const auto t0 = WriteOutage::Clock::now();
  WriteOutage outage;
  CHECK_FALSE(outage.active());
  CHECK_FALSE(outage.probe_due(t0 + 1h));

  outage.failed(ENOSPC, "allocate seg: No space left on device", t0);
  CHECK(outage.active());
  CHECK(outage.code() == AppendResult::Code::no_space);
  CHECK(outage.reason() == "allocate seg: No space left on device");
  CHECK_FALSE(outage.probe_due(t0 + 99ms));
  CHECK(outage.probe_due(t0 + 100ms));
  CHECK(outage.until_probe(t0 + 40ms) == 60ms);
  CHECK(outage.until_probe(t0 + 1s) == 1ms);  // due: a retry may come at once

  // A failed probe waits twice as long, and may name another error.
  outage.failed(EIO, "sync seg: Input/output error", t0 + 100ms);
  CHECK(outage.code() == AppendResult::Code::failed);
  CHECK(outage.next_probe() == t0 + 300ms);

  // A passed probe opens the gate but keeps the count: a disk that fails the
  // next commit again is probed later still.
  outage.probe_succeeded();
  CHECK_FALSE(outage.active());
  CHECK_FALSE(outage.probe_due(t0 + 1h));
  outage.failed(ENOSPC, "again", t0 + 1s);
  CHECK(outage.next_probe() == t0 + 1s + 400ms);

  // A commit that succeeds resets it.
  outage.probe_succeeded();
  outage.commit_succeeded();
  outage.failed(ENOSPC, "later", t0 + 10s);
  CHECK(outage.next_probe() == t0 + 10s + 100ms);
}
