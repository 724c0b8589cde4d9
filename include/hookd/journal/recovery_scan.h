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
  // id_hashes[i] (for the id index).
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> id_hashes;
  // Bytes [0, valid_bytes) are whole records with dense seqs; what follows is
  // damaged or torn.
  std::uint64_t valid_bytes = 0;
  // Why the scan stopped before the end of the bytes; none when it did not.
  FrameError stop = FrameError::none;
  // The bad record's length field ends inside the bytes and more bytes follow
  // it: not the tail of an interrupted write (that is always the last thing
  // in the file) but damage with possibly intact records behind it.
  bool data_follows = false;

  bool clean() const { return stop == FrameError::none; }
};

// Scans the bytes of the segment whose first record has `first_seq`.
SegmentScan scan_segment(std::string_view bytes, std::uint64_t first_seq);

}  // namespace hookd::journal_detail
