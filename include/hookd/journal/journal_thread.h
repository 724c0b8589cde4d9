// The file journal's one writer: a thread that takes the queued appends,
// commits them as one group (drops duplicates, writes, one fdatasync),
// publishes them to the RecordCatalog, answers the callbacks and tells the
// durable-listeners; between batches it applies retention, expires ids older
// than the dedupe window and persists the cursors. After a failed write it
// refuses appends (WriteOutage) and probes the disk on a back-off until it
// takes writes again.
// Thread-safe: submit(), wake(), on_durable() and stop() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory_resource>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "hookd/journal/cursors.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/journal_metrics.h"
#include "hookd/journal/record_catalog.h"
#include "hookd/journal/segment_writer.h"
#include "hookd/journal/write_outage.h"

namespace hookd::journal_detail {

class JournalThread {
 public:
  JournalThread(const JournalOptions& options, RecordCatalog& catalog, ConsumerCursors& cursors,
                JournalMetrics& metrics);
  ~JournalThread();
  JournalThread(const JournalThread&) = delete;
  JournalThread& operator=(const JournalThread&) = delete;

  // Starts the thread; appends go to the end of `active`, from `next_seq`.
  void start(SegmentPtr active, std::uint64_t next_seq);

  // Queues the append, or answers it at once (see answer_at_once). Never
  // blocks on the disk.
  void submit(std::vector<Event> events, AppendCallback done);

  // A cursor moved or a consumer came or went: retention may free segments.
  void wake();

  void on_durable(std::function<void(std::uint64_t)> listener);

  std::uint64_t pending_bytes() const;
  bool writable() const;
  // Why not writable; empty while writable.
  std::string unwritable_reason() const;

  // Completes what is queued, persists the cursors and joins the thread.
  // False when called on the thread itself (from a callback): it only asks the
  // thread to drain and stop, and a later stop() joins it.
  bool stop();

 private:
  struct PendingAppend {
    std::vector<Event> events;
    AppendCallback done;
    std::uint64_t bytes = 0;
  };

  void run();
  // While not writable: refuses what is queued, probes the disk when due,
  // keeps up housekeeping. Called and returns with `lock` held.
  void run_outage(std::unique_lock<std::mutex>& lock);
  void commit_batch(std::deque<PendingAppend>& batch);
  // Takes the failed batch back and stops taking appends; the answer for it.
  AppendResult fail_batch(std::uint64_t batch_bytes);
  void probe_disk();
  // Runs each call's callback once: with its duplicate flags when the batch
  // is durable, else with `refusal`.
  void answer_calls(std::deque<PendingAppend>& batch, std::vector<std::vector<bool>>& flags,
                    const AppendResult* refusal);
  void notify_durable(std::uint64_t last_seq);
  void housekeeping(bool force_persist);
  void publish_gauges();

  const JournalOptions options_;
  const std::uint64_t segment_limit_;
  RecordCatalog& catalog_;
  ConsumerCursors& cursors_;
  JournalMetrics& metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingAppend> queue_;
  // The queue length at which submit() wakes the thread: 1 while it waits
  // for work, the batch it lingers for, none while it writes. Waking it on
  // every append while it lingers would cost a futex wake and a context
  // switch per request.
  std::size_t wake_at_ = 1;
  std::uint64_t pending_bytes_ = 0;
  WriteOutage outage_;
  bool closing_ = false;
  bool retention_due_ = false;

  std::mutex listeners_mu_;
  std::vector<std::function<void(std::uint64_t)>> listeners_;

  std::mutex stop_mu_;
  std::thread thread_;

  // The thread only.
  SegmentWriter writer_;
  std::size_t last_batch_calls_ = 0;
  // Kept from one group commit to the next, so that a commit does not
  // allocate them anew: the batch taken from queue_ (its storage goes back
  // to queue_), and the ids of the batch so far, whose nodes the pool
  // recycles.
  std::deque<PendingAppend> batch_;
  std::pmr::unsynchronized_pool_resource batch_ids_pool_;
  std::pmr::unordered_set<std::string_view> batch_ids_{&batch_ids_pool_};
  std::vector<std::vector<bool>> batch_flags_;
};

}  // namespace hookd::journal_detail
