// The file journal's series in the process-wide metrics registry. Updates are
// atomic, so any thread may use them.
#pragma once

#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"

namespace hookd::journal_detail {

struct JournalMetrics {
  JournalMetrics();

  // One append call answered at once with `code` (nothing for ok).
  void count_rejection(AppendResult::Code code);

  Gauge& bytes;
  Gauge& segments;
  Counter& appended;
  Counter& duplicates;
  Counter& rejected_full;
  Counter& rejected_busy;
  Counter& rejected_failed;
  Histogram& fsync_seconds;
  Histogram& batch_events;
  Gauge& pending_bytes;
  Gauge& last_seq;
};

}  // namespace hookd::journal_detail
