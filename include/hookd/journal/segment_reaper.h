// SegmentReaper: finishes the retirement of segments (already unlinked) on a
// thread of its own: what must be forgotten about them, then the close.
//
// Both are too slow for the journal thread, where every group commit waits
// behind them: forgetting a 64 MiB segment's ~100k ids from the dedupe index
// took 8-20 ms, and closing the last descriptor of an unlinked file is when
// the filesystem frees its blocks (37 ms for a preallocated segment on ext4
// mounted with -o discard). The half-rate ingest p99 went from 0.9 ms to
// 30 ms once retention began deleting.
//
// A segment is closed only once the reaper holds its last reference, so a
// reader that still has it (a reactor thread reading an event) never becomes
// the one that closes it either. The blocks are given back a few MiB at a
// time first, because the filesystem journal commit that frees (and
// discards) them is one that every fdatasync waits for.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "hookd/journal/segment.h"

namespace hookd::journal_detail {

class SegmentReaper {
 public:
  // `on_retired` runs on the reaper's thread once for every segment taken,
  // before it is closed.
  explicit SegmentReaper(std::function<void(const Segment&)> on_retired = {});
  // Drops what it still holds (readers are gone by then) and joins.
  ~SegmentReaper();
  SegmentReaper(const SegmentReaper&) = delete;
  SegmentReaper& operator=(const SegmentReaper&) = delete;

  // Takes retired segments; returns at once.
  void take(std::vector<SegmentPtr> segments);
  // Blocks until every segment taken so far has been through on_retired and
  // every one nobody else references is closed; returns how many are still
  // held (referenced elsewhere).
  std::size_t flush();

 private:
  void run();
  // With mu_ held: moves the segments only the reaper holds into `out`.
  void collect_unreferenced(std::vector<SegmentPtr>& out);
  // Frees the file's blocks a step at a time, unless the reaper is stopping.
  void give_back_blocks(const Segment& segment);

  const std::function<void(const Segment&)> on_retired_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::vector<SegmentPtr> fresh_;  // taken, not yet through on_retired
  std::vector<SegmentPtr> held_;   // waiting for the last reader
  std::size_t flush_requests_ = 0;
  std::size_t flush_done_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hookd::journal_detail
