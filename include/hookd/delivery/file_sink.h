// FileSink: the output file of a format=file endpoint. Appends one batch of
// lines at a time durably (written, then fdatasync'd, before it reports
// success), rotates by size (<path> -> <path>.1 -> ... -> <path>.<keep>),
// and opens the file again by name when asked (after logrotate renamed it).
// Blocking: it runs on a BlockingIoThread, never on a reactor. Not
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

// Whether a batch of `incoming` bytes starts a new file first: only with a
// limit, only when the current file already holds something (a batch larger
// than the limit goes whole into a fresh file), and when together they would
// pass `max_bytes`.
bool rotation_due(std::uint64_t current_size, std::uint64_t incoming, std::uint64_t max_bytes);

// The renames that rotate `path` keeping `keep` old files, in the order to
// run them: <path>.<keep-1> -> <path>.<keep> (replacing the oldest), ...,
// <path> -> <path>.1.
std::vector<std::pair<std::filesystem::path, std::filesystem::path>> rotation_renames(
    const std::filesystem::path& path, std::size_t keep);

class FileSink {
 public:
  // max_bytes 0: never rotate.
  FileSink(std::filesystem::path path, std::uint64_t max_bytes, std::size_t keep);
  ~FileSink();
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Opens (creating it 0600, and its directory) for appending, cutting off
  // a last line without its newline (the half batch of a killed writer).
  // append() opens on its own when needed; start-up calls this to fail early.
  Status open();
  // Writes `lines` whole and fdatasyncs them, rotating first when due. On a
  // failed write the file is cut back to where the batch began, so a retry
  // never leaves half a line behind.
  Status append(std::string_view lines);
  // Closes the file; the next append opens <path> again (a new file when
  // logrotate moved the old one away).
  void reopen();
  void close();

  std::uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Status rotate();

  const std::filesystem::path path_;
  const std::uint64_t max_bytes_;
  const std::size_t keep_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace hookd
