// One segment file of the file journal, and the file operations on it:
// naming, creating (a roll), opening with recovery, deleting.
//
// Records are dense: offsets[i] holds seq first_seq + i. offsets, hashes and
// size change only on the journal thread, under the journal mutex; readers
// copy what they need under the same mutex and pread after (fd and path never
// change once the segment is open).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"

namespace hookd::journal_detail {

struct Segment {
  std::uint64_t first_seq = 0;
  std::filesystem::path path;
  int fd = -1;
  std::uint64_t size = 0;              // bytes in the file that are published
  std::uint64_t written = 0;           // bytes written (journal thread only)
  std::vector<std::uint64_t> offsets;  // record offsets
  // Recovery only: each record's id hash and arrival time, handed to the id
  // index when the journal opens, then released.
  std::vector<std::uint64_t> hashes;
  std::vector<std::int64_t> arrivals_ms;

  Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();

  std::uint64_t count() const { return offsets.size(); }
  std::uint64_t end_seq() const { return first_seq + count(); }  // one past the last
  std::uint64_t record_end(std::size_t i) const {
    return i + 1 < offsets.size() ? offsets[i + 1] : size;
  }
};
using SegmentPtr = std::shared_ptr<Segment>;

// "<first_seq, 20 digits>.seg", so that names sort by seq.
std::string segment_name(std::uint64_t first_seq);
std::optional<std::uint64_t> parse_segment_name(const std::string& name);

// pread/pwrite until all `n` bytes are done; false with errno set (EIO for a
// file shorter than expected).
bool pread_all(int fd, char* buf, std::size_t n, std::uint64_t offset);
bool pwrite_all(int fd, const char* buf, std::size_t n, std::uint64_t offset);

// Creates the empty segment whose first record will be `first_seq`. With
// sync_dir the directory is synced, so that a crash cannot lose a file whose
// records get acknowledged. On failure errno says why.
Result<SegmentPtr> create_segment(const std::filesystem::path& dir, std::uint64_t first_seq,
                                  bool sync_dir);

// Gives a prepared file (see SegmentSpare) at `from` the name of the segment
// whose first record will be `first_seq`, as durably as create_segment. The
// Segment owns `fd` from here on. On failure the file is gone and errno says
// why.
Result<SegmentPtr> adopt_segment(const std::filesystem::path& dir, std::uint64_t first_seq, int fd,
                                 const std::filesystem::path& from, bool sync_dir);

// Reserves the file's blocks up to `bytes` (fallocate; the size grows to
// `bytes`, the new tail reads as zeros). Returns 0 or the errno; EOPNOTSUPP
// when the filesystem cannot preallocate.
int preallocate_file(int fd, std::uint64_t bytes);

// Opens an existing segment and recovers it: the intact records are indexed
// into offsets/hashes/arrivals_ms. Zeros after the last record are
// preallocated space: the end of the data (cut from the last segment, left in
// a sealed one). A damaged tail of the last segment (a torn write) is
// truncated; when intact-looking data
// follows the damage, a copy of what is cut goes to
// "<segment>.<offset>.corrupt" first, so recovery never destroys something
// acknowledged. In a sealed segment the records after the damage are skipped
// and the file is left alone for a human.
Result<SegmentPtr> open_segment(const std::filesystem::path& path, std::uint64_t first_seq,
                                bool is_last);

// Deletes the segment's file (it stays readable through open descriptors).
void delete_segment_file(const Segment& segment);

}  // namespace hookd::journal_detail
