// Writes one group commit into the segment files: encodes the records into a
// buffer, writes it with one pwrite per segment (in pieces of at most 4 MiB,
// to bound memory), rolls to a new segment at the size limit and fdatasyncs
// each segment it wrote to once. Nothing it writes is visible to readers: the
// journal publishes the staged records once finish() has made them durable.
// Journal thread only (not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/segment.h"

namespace hookd::journal_detail {

class SegmentWriter {
 public:
  // A record written in the current batch, to publish once it is durable.
  struct Staged {
    std::uint64_t seq;
    std::uint64_t hash;
    Segment* segment;
    std::uint64_t offset;
  };

  SegmentWriter(std::filesystem::path dir, std::uint64_t segment_limit, FsyncMode fsync,
                Histogram& fsync_seconds);

  // Appends go to the end of `active` (the newest segment), from `next_seq`.
  void resume(SegmentPtr active, std::uint64_t next_seq);

  void begin_batch();
  // Stages `e` as the next seq; false after an I/O error (see error()).
  bool stage(const Event& e, std::uint64_t id_hash);
  // Writes what is buffered and syncs it: the staged records are durable.
  bool finish();
  // After a failure: cuts what the batch wrote, when it stayed in one segment
  // (best effort, so that a reopen does not find records whose appends were
  // answered `failed`), and takes the batch's seqs back.
  void abandon();

  const std::vector<Staged>& staged() const { return staged_; }
  // Segments this batch created, oldest first.
  const std::vector<SegmentPtr>& rolled() const { return rolled_; }
  // The segment the batch started in (it grew, as did every rolled one).
  Segment& start_segment() const { return *start_segment_; }
  std::uint64_t next_seq() const { return next_seq_; }
  const std::string& error() const { return error_; }
  std::chrono::steady_clock::duration last_fsync() const { return last_fsync_; }

 private:
  bool write_buffer();
  bool sync_active();
  bool roll();
  void release_buffer();

  const std::filesystem::path dir_;
  const std::uint64_t segment_limit_;
  const FsyncMode fsync_;
  Histogram& fsync_seconds_;

  SegmentPtr active_;
  std::uint64_t write_offset_ = 0;  // bytes written to the active file
  std::uint64_t next_seq_ = 1;
  std::size_t active_records_ = 0;  // in the active segment, written or buffered
  std::string buffer_;
  std::chrono::steady_clock::duration last_fsync_{};

  // The current batch.
  SegmentPtr start_segment_;
  std::uint64_t start_offset_ = 0;
  std::uint64_t first_seq_ = 0;
  std::vector<Staged> staged_;
  std::vector<SegmentPtr> rolled_;
  std::string error_;
};

}  // namespace hookd::journal_detail
