#include "hookd/journal/commit_policy.h"

#include <algorithm>
#include <string>

namespace hookd::journal_detail {

std::optional<AppendResult> answer_at_once(std::size_t events, std::uint64_t bytes,
                                           const AppendGate& gate) {
  AppendResult answer;
  if (events == 0) {
    answer.code = AppendResult::Code::ok;
  } else if (gate.closing) {
    answer.code = AppendResult::Code::failed;
    answer.message = "journal is closed";
  } else if (!gate.writable) {
    answer.code = gate.outage_code;
    answer.message = gate.outage_reason.empty() ? "journal is not writable after an I/O error"
                                                : std::string(gate.outage_reason);
    answer.retry_after = gate.outage_retry_after;
  } else if (gate.journal_bytes >= gate.max_bytes) {
    answer.code = AppendResult::Code::full;
    answer.message = "journal is full";
  } else if (gate.pending_bytes > 0 && gate.pending_bytes + bytes > gate.max_pending_bytes) {
    answer.code = AppendResult::Code::busy;
    answer.message = "too many events waiting for the disk";
  } else {
    return std::nullopt;
  }
  answer.duplicate.assign(events, false);
  return answer;
}

std::chrono::steady_clock::duration group_commit_linger(
    FsyncMode mode, std::chrono::microseconds batch_window, std::size_t last_batch_calls,
    std::size_t queued_calls, std::chrono::steady_clock::duration last_fsync, bool closing) {
  using duration = std::chrono::steady_clock::duration;
  if (mode != FsyncMode::batch || batch_window.count() <= 0 || closing) return duration::zero();
  if (last_batch_calls <= 1 || queued_calls >= last_batch_calls) return duration::zero();
  // Half the last batch or more already queued: a steady stream, not a herd
  // on its way back. Lingering there would feed itself (each linger makes
  // the next batch larger, so the next queue looks short of it again) and
  // hold every commit back by about one fsync.
  if (2 * queued_calls >= last_batch_calls) return duration::zero();
  return std::min<duration>(batch_window, last_fsync);
}

}  // namespace hookd::journal_detail
