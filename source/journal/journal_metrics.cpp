#include "hookd/journal/journal_metrics.h"

#include <vector>

#include "hookd/journal/write_outage.h"

namespace hookd::journal_detail {

namespace {

std::vector<double> batch_buckets() {
  std::vector<double> b;
  for (double v = 1; v <= 4096; v *= 2)
    b.push_back(v);
  return b;
}

}  // namespace

JournalMetrics::JournalMetrics()
    : bytes(metrics().gauge("hookd_journal_bytes", "Bytes in journal segment files")),
      segments(metrics().gauge("hookd_journal_segments", "Journal segment files")),
      appended(metrics().counter("hookd_journal_appended_events_total",
                                 "Events written to the journal")),
      duplicates(metrics().counter("hookd_journal_duplicate_events_total",
                                   "Events skipped because their id was already journaled")),
      rejected_full(metrics().counter("hookd_journal_rejected_appends_total",
                                      "Append calls rejected", {{"reason", "full"}})),
      rejected_busy(metrics().counter("hookd_journal_rejected_appends_total",
                                      "Append calls rejected", {{"reason", "busy"}})),
      rejected_failed(metrics().counter("hookd_journal_rejected_appends_total",
                                        "Append calls rejected", {{"reason", "failed"}})),
      rejected_no_space(metrics().counter("hookd_journal_rejected_appends_total",
                                          "Append calls rejected", {{"reason", "no_space"}})),
      writable(metrics().gauge("hookd_journal_writable",
                               "1 while the journal takes appends, 0 after a failed write until "
                               "the disk takes writes again")),
      fsync_seconds(metrics().histogram("hookd_journal_fsync_seconds",
                                        "Time spent in fdatasync per commit",
                                        latency_buckets_seconds())),
      commit_seconds(metrics().histogram(
          "hookd_journal_commit_seconds",
          "Time per group commit, from taking the batch to answering it (fdatasync included)",
          latency_buckets_seconds())),
      batch_events(metrics().histogram("hookd_journal_batch_events", "Events per group commit",
                                       batch_buckets())),
      roll_seconds(metrics().histogram("hookd_journal_roll_seconds",
                                       "Time to start a new segment inside a group commit",
                                       latency_buckets_seconds())),
      rolls_spare(metrics().counter("hookd_journal_rolls_total",
                                    "New segments started, by where the file came from",
                                    {{"file", "spare"}})),
      rolls_created(metrics().counter("hookd_journal_rolls_total",
                                      "New segments started, by where the file came from",
                                      {{"file", "created"}})),
      pending_bytes(
          metrics().gauge("hookd_journal_pending_bytes", "Bytes appended and not yet durable")),
      last_seq(metrics().gauge("hookd_journal_last_seq", "Newest durable journal seq")),
      indexed_ids(metrics().gauge("hookd_journal_indexed_ids",
                                  "Ids in the dedupe index: those that arrived within the dedupe "
                                  "window and are still retained")) {
  writable.set(1);
}

void JournalMetrics::count_rejection(AppendResult::Code code) {
  switch (code) {
    case AppendResult::Code::full:
      rejected_full.inc();
      break;
    case AppendResult::Code::busy:
      rejected_busy.inc();
      break;
    case AppendResult::Code::failed:
      rejected_failed.inc();
      break;
    case AppendResult::Code::no_space:
      rejected_no_space.inc();
      break;
    case AppendResult::Code::ok:
      break;
  }
}

void JournalMetrics::count_write_error(const char* op, int error_number) {
  metrics()
      .counter("hookd_journal_write_errors_total",
               "Failed journal writes, fsyncs, allocations, creates and truncates, probes included",
               {{"op", op}, {"errno", errno_label(error_number)}})
      .inc();
}

}  // namespace hookd::journal_detail
