// The retained segments of the file journal, oldest first (back() is the one
// appended to), where each durable record lies in them, and the rule for which
// segments may go. In memory only: the files are read by the RecordCatalog.
//
// Not thread-safe: the RecordCatalog guards it with its mutex. Locations and
// Spans hold their segment alive, so the bytes are read after the mutex is
// released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/journal/segment.h"

namespace hookd::journal_detail {

class SegmentList {
 public:
  // One record.
  struct Location {
    SegmentPtr segment;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
  };
  // Consecutive records of one segment: `count` from `first_seq`, in bytes
  // [begin, end).
  struct Span {
    SegmentPtr segment;
    std::uint64_t first_seq = 0, count = 0, begin = 0, end = 0;
  };

  // Appends a segment newer than every other; its published size counts.
  void add(SegmentPtr segment);
  // Publishes what was written to `segment` (one of the list) since.
  void publish_written(Segment& segment);

  bool empty() const { return segments_.empty(); }
  std::size_t size() const { return segments_.size(); }
  const SegmentPtr& back() const { return segments_.back(); }
  const std::vector<SegmentPtr>& segments() const { return segments_; }
  std::uint64_t bytes() const { return bytes_; }
  // Seq of the oldest retained record; 0 when there is none.
  std::uint64_t first_retained_seq() const;

  // Where durable record `seq` (<= durable_seq) is; nullopt when not retained.
  std::optional<Location> locate(std::uint64_t seq, std::uint64_t durable_seq) const;

  // The durable records after `after_seq`, at most `max`, oldest first. Seqs
  // that are not retained (deleted, or skipped as corrupt) are passed over.
  std::vector<Span> spans_after(std::uint64_t after_seq, std::size_t max,
                                std::uint64_t durable_seq) const;

  // Takes the oldest segments off the list while oldest_segment_deletable()
  // allows it, never the last one; returns them for deletion.
  std::vector<SegmentPtr> take_deletable(std::optional<std::uint64_t> min_cursor,
                                         std::uint64_t segment_limit, std::uint64_t max_bytes);

 private:
  std::vector<SegmentPtr> segments_;
  std::uint64_t bytes_ = 0;  // published, all segments
};

// Whether the oldest of several segments may be deleted. min_cursor is the
// lowest cursor of the consumers registered in this process (nullopt: none):
// with consumers a segment goes once they all have passed it; without any,
// as much history is kept as fits, leaving room for the active segment to
// fill, so appends are never refused.
bool oldest_segment_deletable(const Segment& oldest, std::optional<std::uint64_t> min_cursor,
                              std::uint64_t journal_bytes, std::uint64_t segment_limit,
                              std::uint64_t max_bytes);

// Opens and recovers every segment file in `dir` (see open_segment), oldest
// first. Files that cannot be part of the journal (seq 0, overlapping seqs)
// are logged and left alone, empty sealed segments deleted, and leftovers of
// interrupted atomic writes (*.tmp) removed.
Result<SegmentList> recover_segment_list(const std::filesystem::path& dir);

}  // namespace hookd::journal_detail
