// Writes one group commit into the segment files: encodes the records into a
// buffer, writes it with one pwrite per segment (in pieces of at most 4 MiB,
// to bound memory), rolls to a new (preallocated) segment at the size limit
// and fdatasyncs each segment it wrote to once. Nothing it writes is visible
// to readers: the journal publishes the staged records once finish() has made
// them durable. After a failure it takes the whole batch back off the disk,
// and probes the disk until it takes writes again.
// Journal thread only (not thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hookd/journal/journal.h"
#include "hookd/journal/journal_metrics.h"
#include "hookd/journal/segment.h"
#include "hookd/journal/segment_spare.h"

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

  // What failed: the operation ("write", "sync", "allocate", "create",
  // "truncate", "remove"), its errno and a message naming the file.
  struct Failure {
    const char* op = "";
    int error_number = 0;
    std::string message;
  };

  SegmentWriter(std::filesystem::path dir, std::uint64_t segment_limit, FsyncMode fsync,
                bool preallocate, JournalMetrics& metrics);

  // Appends go to the end of `active` (the newest segment), from `next_seq`.
  // Preallocates it (a failure is only logged: the writes will tell) and
  // starts the spare's thread (after recovery, which removes a stale spare).
  void resume(SegmentPtr active, std::uint64_t next_seq);

  void begin_batch();
  // Stages `e` as the next seq; false after an I/O error (see failure()).
  bool stage(const Event& e, std::uint64_t id_hash);
  // Writes what is buffered and syncs it: the staged records are durable.
  bool finish();
  // After a failure: takes the batch back. The segments it created are
  // emptied and removed, the segment it started in is cut back to where the
  // batch began and fsynced, and its seqs are given back, so that neither a
  // reader nor a restart ever sees a record of it. False when that did not
  // all succeed; probe() completes it.
  bool abandon();
  // While the journal is not writable: completes an unfinished abandon(),
  // then checks that the disk takes a segment's worth of blocks, a write and
  // an fdatasync (on a scratch file, removed again). True: appends may go on.
  bool probe();

  const std::vector<Staged>& staged() const { return staged_; }
  // Segments this batch created, oldest first.
  const std::vector<SegmentPtr>& rolled() const { return rolled_; }
  // The segment the batch started in (it grew, as did every rolled one).
  Segment& start_segment() const { return *start_segment_; }
  std::uint64_t next_seq() const { return next_seq_; }
  const Failure& failure() const { return failure_; }
  const std::string& error() const { return failure_.message; }
  std::chrono::steady_clock::duration last_fsync() const { return last_fsync_; }

 private:
  bool write_buffer();
  bool sync_active();
  bool roll();
  // The next segment's file: the spare when one is ready, else created here.
  // `reserved`: its blocks are preallocated already.
  Result<SegmentPtr> next_segment(bool& reserved);
  bool undo();
  void release_buffer();
  // Records errno as the failure of `op` on `path`; returns false.
  bool fail(const char* op, const std::filesystem::path& path);
  // Reserves the segment limit for `fd`; 0 or the errno (none when off or
  // unsupported by the filesystem).
  int preallocate(int fd);

  const std::filesystem::path dir_;
  const std::uint64_t segment_limit_;
  const FsyncMode fsync_;
  bool preallocate_;  // cleared once the filesystem says it cannot
  JournalMetrics& metrics_;
  std::unique_ptr<SegmentSpare> spare_;

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
  Failure failure_;

  // A failed batch's segments still to remove, and whether the start segment
  // still has to be cut back (abandon() did not finish).
  std::vector<SegmentPtr> undo_rolled_;
  bool undo_pending_ = false;
};

}  // namespace hookd::journal_detail
