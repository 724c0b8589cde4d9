// The file journal's one writer: a thread that takes the queued appends,
// commits them as one group (drops duplicates, writes, one fdatasync),
// publishes them to the RecordCatalog, answers the callbacks and tells the
// durable-listeners; between batches it applies retention and persists the
// cursors.
// Thread-safe: submit(), wake(), on_durable() and stop() from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "hookd/journal/cursors.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/journal_metrics.h"
#include "hookd/journal/record_catalog.h"
#include "hookd/journal/segment_writer.h"

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
  void commit_batch(std::deque<PendingAppend>& batch);
  void fail_batch(std::uint64_t batch_bytes);
  // Runs each call's callback once, with its duplicate flags when the batch
  // is durable.
  void answer_calls(std::deque<PendingAppend>& batch, std::vector<std::vector<bool>>& flags,
                    bool ok);
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
  std::uint64_t pending_bytes_ = 0;
  bool writable_ = true;
  bool closing_ = false;
  bool retention_due_ = false;

  std::mutex listeners_mu_;
  std::vector<std::function<void(std::uint64_t)>> listeners_;

  std::mutex stop_mu_;
  std::thread thread_;

  // The thread only.
  SegmentWriter writer_;
  std::size_t last_batch_calls_ = 0;
};

}  // namespace hookd::journal_detail
