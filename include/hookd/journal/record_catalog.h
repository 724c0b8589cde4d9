// The durable records of the file journal as readers see them: the retained
// segments, the id index (over the dedupe window) and the newest durable seq.
// A record is here iff it is durable; the journal thread publishes each group
// commit at once, retires segments that retention lets go and expires ids
// older than the dedupe window.
// Thread-safe: one mutex for the in-memory state; the record bytes are read
// from the files after it is released.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/journal/dedupe_window.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/segment_list.h"
#include "hookd/journal/segment_reaper.h"
#include "hookd/journal/segment_writer.h"

namespace hookd::journal_detail {

class RecordCatalog {
 public:
  struct Totals {
    std::uint64_t first_seq = 0;  // oldest retained (0 when empty)
    std::uint64_t last_seq = 0;   // newest durable
    std::uint64_t bytes = 0;
    std::uint64_t segments = 0;
  };

  explicit RecordCatalog(std::chrono::milliseconds dedupe_window = std::chrono::milliseconds(0));

  // Takes the recovered segments (at least one; the newest is appended to)
  // and indexes the ids of their records that arrived within the window.
  void restore(SegmentList segments);

  // Only ids within the dedupe window are found.
  std::optional<StoredEvent> lookup(std::string_view id) const;
  Result<std::vector<StoredEvent>> read(std::uint64_t after_seq, std::size_t max) const;

  // Whether a durable record has this id. A record that shares the 64-bit
  // hash but cannot be read back counts as the same id.
  bool contains(std::uint64_t hash, std::string_view id) const;

  // Journal thread: makes the batch that `writer` has finished durable
  // visible.
  void publish(const SegmentWriter& writer);
  // Journal thread: deletes the segments retention lets go (see
  // oldest_segment_deletable), their files and their ids. Returns how many.
  std::size_t retire(std::optional<std::uint64_t> min_cursor, std::uint64_t segment_limit,
                     std::uint64_t max_bytes);
  // Journal thread: forgets the ids accepted before now_ms - dedupe window.
  // Returns how many.
  std::size_t expire_ids(std::int64_t now_ms);
  // Ids indexed (tests, and the memory bound).
  std::size_t indexed_ids() const;

  Totals totals() const;
  std::uint64_t durable_seq() const;
  // Without the lock: every append asks, and a commit may hold the lock for
  // long (the id index growing), which must not stall the reactor.
  std::uint64_t bytes() const;
  SegmentPtr newest_segment() const;
  // The newest durable seq, readable without the lock (lag gauges).
  std::shared_ptr<const std::atomic<std::uint64_t>> durable_seq_counter() const {
    return durable_counter_;
  }

 private:
  // Where the retained records whose id has this hash are.
  std::vector<SegmentList::Location> locate_hash(std::uint64_t hash) const;
  void forget_ids(const Segment& segment);

  mutable std::mutex mu_;
  SegmentList segments_;
  DedupeWindow ids_;
  const std::int64_t dedupe_window_ms_;
  std::uint64_t durable_seq_ = 0;
  std::atomic<std::uint64_t> bytes_{0};  // segments_.bytes(), stored under mu_
  std::shared_ptr<std::atomic<std::uint64_t>> durable_counter_;
  SegmentReaper reaper_;  // last: its thread stops before the rest goes
};

}  // namespace hookd::journal_detail
