// The ids the file journal deduplicates: those of the records accepted within
// the dedupe window (as Svix bounds eventId uniqueness). Records are indexed
// in seq order, which is the order they were accepted in, so the oldest are
// always at the front: a ring of their id hashes by seq and a coarse clock
// beside it (one mark per window/1024 of arrivals, at most ~1024 marks) make
// expiry cost O(expired), never a scan. An id is kept at least the window and
// at most window/1024 longer. Segments deleted by retention take their ids
// with them whatever their age.
// Not thread-safe: the RecordCatalog guards it with its mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "hookd/journal/id_index.h"

namespace hookd::journal_detail {

class DedupeWindow {
 public:
  // Zero: ids never expire (retention alone forgets them).
  explicit DedupeWindow(std::chrono::milliseconds window = std::chrono::milliseconds(0));

  // Indexes record `seq` (higher than every seq added before; seqs skipped in
  // between are not records), whose id hashes to `hash`, accepted at `at_ms`
  // (unix ms; a clock that steps back counts as no time passing).
  void add(std::uint64_t hash, std::uint64_t seq, std::int64_t at_ms);

  // Seqs of the indexed records whose id has this hash.
  std::vector<std::uint64_t> candidates(std::uint64_t hash) const {
    return index_.candidates(hash);
  }

  // Forgets at most `max` of the records accepted before now_ms - window,
  // oldest first; returns how many (call again while it returns `max`).
  std::size_t expire(std::int64_t now_ms, std::size_t max);

  // Forgets at most `max` of the records with seq <= `last_seq` (their
  // segment is gone); returns how many.
  std::size_t forget_through(std::uint64_t last_seq, std::size_t max);

  std::size_t size() const { return index_.size(); }
  const IdIndex& index() const { return index_; }

 private:
  // Records from first_seq until the next mark were added in
  // [first_ms, first_ms + step), the last of them at last_ms.
  struct Mark {
    std::uint64_t first_seq;
    std::int64_t first_ms, last_ms;
  };

  std::uint64_t end_seq() const { return first_seq_ + hashes_.size(); }
  void pop_front();

  const std::int64_t window_ms_;
  const std::int64_t step_ms_;
  IdIndex index_;
  std::deque<std::uint64_t> hashes_;  // hash of seq first_seq_ + i (0 for a gap)
  std::uint64_t first_seq_ = 0;
  std::deque<Mark> marks_;  // only with a window
};

}  // namespace hookd::journal_detail
