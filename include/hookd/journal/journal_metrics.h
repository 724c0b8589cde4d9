// The file journal's series in the process-wide metrics registry. Updates are
// atomic, so any thread may use them.
#pragma once

#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"

namespace hookd::journal_detail {

struct JournalMetrics {
  JournalMetrics();

  // One append call refused with `code` (nothing for ok).
  void count_rejection(AppendResult::Code code);
  // hookd_journal_write_errors_total{op, errno}: a failed write, fsync,
  // allocation, create, truncate or remove (probes included); errno_label()
  // keeps the label set bounded.
  void count_write_error(const char* op, int error_number);

  Gauge& bytes;
  Gauge& segments;
  Counter& appended;
  Counter& duplicates;
  Counter& rejected_full;
  Counter& rejected_busy;
  Counter& rejected_failed;
  Counter& rejected_no_space;
  Gauge& writable;  // 1, or 0 while appends are refused after a failed write
  Histogram& fsync_seconds;
  // A whole group commit: from taking the batch to its last answer (write,
  // fdatasync, segment roll, index and publish, callbacks). Beside
  // fsync_seconds it tells a tail of the disk from one of the commit path.
  Histogram& commit_seconds;
  Histogram& batch_events;
  // Starting a new segment inside a group commit (the batch's answers wait
  // for it): from a prepared spare (a rename) or created on the spot.
  Histogram& roll_seconds;
  Counter& rolls_spare;
  Counter& rolls_created;
  Gauge& pending_bytes;
  Gauge& last_seq;
  Gauge& indexed_ids;  // in the dedupe index
};

}  // namespace hookd::journal_detail
