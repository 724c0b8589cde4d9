// The recovery scan of one segment file's bytes: which records are intact and
// where the valid prefix ends. Deciding what to do with the rest (truncate,
// keep a copy, skip) is the caller's; this only reads. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hookd/journal/frame.h"

namespace hookd::journal_detail {

struct SegmentScan {
  // Record i (seq first_seq + i) starts at offsets[i]; its id hashes to
  // id_hashes[i] and it arrived at arrivals_ms[i] (for the id index).
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> id_hashes;
  std::vector<std::int64_t> arrivals_ms;
  // Bytes [0, valid_bytes) are whole records with dense seqs; what follows is
  // damaged or torn, or zero_tail.
  std::uint64_t valid_bytes = 0;
  // Why the scan stopped before the end of the bytes; none when it did not.
  FrameError stop = FrameError::none;
  // The bad record's length field ends inside the bytes and bytes other than
  // zeros follow it: not the tail of an interrupted write (that is always the
  // last thing written, with at most never-written zeros after it) but damage
  // with possibly intact records behind it.
  bool data_follows = false;
  // Everything after the valid prefix is zero bytes: space preallocated for
  // records never written (or a tail a crash left zero-filled). The end of
  // the data, not damage.
  bool zero_tail = false;

  bool clean() const { return stop == FrameError::none; }
};

// Scans the bytes of the segment whose first record has `first_seq`.
SegmentScan scan_segment(std::string_view bytes, std::uint64_t first_seq);

// Whether every byte is zero (true for none).
bool all_zero(std::string_view bytes);

}  // namespace hookd::journal_detail
