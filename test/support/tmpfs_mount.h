// A tmpfs of a fixed size mounted for one test, so the test can fill a real
// filesystem (ENOSPC from write, fallocate and create as on a full disk).
// Mounting needs root (CAP_SYS_ADMIN), as CI has; mounted() says whether it
// worked and error() why not, for HOOKD_SKIP. Unmounted (detached if still
// busy) in the destructor, so a failing test leaves nothing mounted. Not
// thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hookd::test {

class TmpfsMount {
 public:
  // Mounts at `dir` (created when missing).
  TmpfsMount(std::filesystem::path dir, std::uint64_t bytes);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::filesystem::path& path() const { return dir_; }
  // Bytes still free on it (statvfs).
  std::uint64_t free_bytes() const;

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes `bytes` bytes (not zeros, not sparse) to `file`; false when the
// filesystem refused some of them.
bool write_filler(const std::filesystem::path& file, std::uint64_t bytes);

}  // namespace hookd::test
