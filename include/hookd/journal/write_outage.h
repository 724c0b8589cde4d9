// What the file journal does after a write, fsync or allocation fails: the
// answer appenders get meanwhile (no_space for a full disk, failed for any
// other error), the metric label of the errno, and when the journal probes
// the disk again (100 ms, doubling, at most 5 s).
//
// Pure functions and a value type; not thread-safe (the journal thread keeps
// one under its queue mutex).
#pragma once

#include <chrono>
#include <string>

#include "hookd/journal/journal.h"

namespace hookd::journal_detail {

// no_space for ENOSPC and EDQUOT, failed for every other error.
AppendResult::Code outage_code(int error_number);

// A bounded metric label: "ENOSPC", "EDQUOT", "EIO", "EFBIG", "EROFS" or
// "other".
const char* errno_label(int error_number);

// The wait before the next probe after `failures` failures in a row (>= 1).
std::chrono::milliseconds probe_delay(unsigned failures);

class WriteOutage {
 public:
  using Clock = std::chrono::steady_clock;

  // A write, fsync, allocation or probe failed at `now`: appends are refused
  // until a probe succeeds, which is tried after probe_delay(failures).
  void failed(int error_number, std::string reason, Clock::time_point now);
  // A probe succeeded: appends are taken again. The failure count stays until
  // a commit succeeds, so a disk that keeps failing is probed ever less often.
  void probe_succeeded();
  // A group commit succeeded.
  void commit_succeeded() { failures_ = 0; }

  bool active() const { return active_; }
  bool probe_due(Clock::time_point now) const { return active_ && now >= next_probe_; }
  Clock::time_point next_probe() const { return next_probe_; }
  // Until the next probe from `now`, at least 1 ms (a refusal's retry_after).
  std::chrono::milliseconds until_probe(Clock::time_point now) const;
  unsigned failures() const { return failures_; }
  // For refused appends and /readyz; meaningful while active.
  AppendResult::Code code() const { return code_; }
  const std::string& reason() const { return reason_; }

 private:
  bool active_ = false;
  unsigned failures_ = 0;
  AppendResult::Code code_ = AppendResult::Code::failed;
  std::string reason_;
  Clock::time_point next_probe_{};
};

}  // namespace hookd::journal_detail
