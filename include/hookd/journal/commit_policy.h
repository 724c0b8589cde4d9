// The group commit's two decisions, as pure functions of the journal's state:
// whether an append may wait for the disk, and how long the journal thread
// lingers for more appends before a commit. Thread-safe (pure).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "hookd/journal/journal.h"

namespace hookd::journal_detail {

struct AppendGate {
  bool closing = false;
  bool writable = true;
  std::uint64_t journal_bytes = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t pending_bytes = 0;  // queued, not yet durable
  std::uint64_t max_pending_bytes = 0;
  // While not writable: the answer (failed or no_space), why, and when the
  // disk is probed again.
  AppendResult::Code outage_code = AppendResult::Code::failed;
  std::string_view outage_reason;
  std::chrono::milliseconds outage_retry_after{0};
};

// nullopt: queue the append of `events` events (`bytes` encoded). Otherwise
// the answer to give at once: ok for no events; failed when closed; the
// outage's code (failed or no_space) while not writable after an I/O error;
// full or busy; each with nothing appended. Busy needs
// something already pending, so one append larger than the limit still goes.
std::optional<AppendResult> answer_at_once(std::size_t events, std::uint64_t bytes,
                                           const AppendGate& gate);

// How long the journal thread waits for more appends before committing what
// is queued. Under load the previous fsync is the batching window, and an idle
// journal never delays a lone append; but when the previous batch came from
// several concurrent calls and fewer than half of that many are queued now,
// the returning herd gets min(batch_window, last fsync) to rejoin, so
// concurrent clients are not split into a batch of one and a batch of the
// rest. A steady stream (half the last batch or more queued) does not wait:
// there a linger only adds an fsync's time to every append. Zero means
// commit now.
std::chrono::steady_clock::duration group_commit_linger(
    FsyncMode mode, std::chrono::microseconds batch_window, std::size_t last_batch_calls,
    std::size_t queued_calls, std::chrono::steady_clock::duration last_fsync, bool closing);

}  // namespace hookd::journal_detail
