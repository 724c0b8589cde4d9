// SegmentSpare: keeps the next segment file ready before the journal needs
// it, prepared on a thread of its own.
//
// A roll used to create the file, fsync the directory and fallocate the
// segment's blocks on the journal thread, inside a group commit, and the
// batch's fdatasync then also committed the new file's extents: 1-9 ms on
// ext4 in one commit per segment, the half-rate ingest p99.9. With a spare
// the file already exists under a temporary name, its blocks reserved and
// synced, so a roll is a rename and a directory fsync.
//
// The spare is "next-segment.tmp" in the journal directory; recovery removes
// *.tmp files, so one a crash leaves behind costs nothing. It is prepared
// only once asked for (the writer asks when the active segment is half
// full, so an idle journal does not hold a second segment's blocks), and a
// preparation that fails (a full disk) is not tried again until the next
// request, so it never competes with the journal for the last free blocks.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace hookd::journal_detail {

class SegmentSpare {
 public:
  // A prepared file, now the caller's to rename and close.
  struct File {
    int fd = -1;
    std::filesystem::path path;
    bool preallocated = false;  // its blocks are reserved up to the segment size
  };

  // `bytes`: the segment size to reserve (when `preallocate`); `sync`: fsync
  // the file (its size and extents) before it counts as ready.
  SegmentSpare(std::filesystem::path dir, std::uint64_t bytes, bool preallocate, bool sync);
  // Joins the thread and removes a spare nobody took.
  ~SegmentSpare();
  SegmentSpare(const SegmentSpare&) = delete;
  SegmentSpare& operator=(const SegmentSpare&) = delete;

  // Asks for a spare to be prepared, unless one is ready or being prepared,
  // or the last preparation failed and nothing was taken since. Returns at
  // once.
  void request();
  // The ready spare, or nullopt when none is (the caller then creates the
  // segment itself). Never waits for the disk.
  std::optional<File> take();

  const std::filesystem::path& path() const { return path_; }

 private:
  void run();
  // Creates, reserves and syncs the file; nullopt (and nothing left on the
  // disk) when any step fails.
  std::optional<File> prepare();

  const std::filesystem::path dir_;
  const std::filesystem::path path_;
  const std::uint64_t bytes_;
  const bool preallocate_;
  const bool sync_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool wanted_ = false;  // requested, not yet prepared
  bool failed_ = false;  // the last preparation failed: no more until a take()
  bool stopping_ = false;
  std::optional<File> ready_;
  std::thread thread_;
};

}  // namespace hookd::journal_detail
