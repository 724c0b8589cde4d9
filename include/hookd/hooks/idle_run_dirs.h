// IdleRunDirs: hook run directories that ended empty, kept for the next
// runs instead of an rmdir now and a mkdir for the next run (each one an
// inode and a journal entry of the data dir's filesystem: a tenth of hookd's
// CPU a prewarmed run).
//
// Only a directory nothing of its run can reach any more may come back: the
// caller gives one back after the run's cage verified that every process of
// the run is gone (RunCage's CageReport::all_gone). give_back() then checks
// that the run left nothing a later run could see: no entry, no extended
// attribute (ACLs are ones), and it puts back hookd's owner and mode 0700,
// as mkdtemp made it. Anything else, and the caller removes the directory.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <vector>

namespace hookd {

class IdleRunDirs {
 public:
  explicit IdleRunDirs(std::size_t max_idle) : max_idle_(max_idle) {}
  ~IdleRunDirs();  // removes the directories still idle
  IdleRunDirs(const IdleRunDirs&) = delete;
  IdleRunDirs& operator=(const IdleRunDirs&) = delete;

  // A clean, empty directory, or nullopt.
  std::optional<std::filesystem::path> take();

  // Keeps `dir` for a later run if it is as mkdtemp made it, or can be put
  // back so (owner, mode). False when it holds anything, is not a
  // directory, or the pool is full: the caller removes it. Blocks.
  bool give_back(const std::filesystem::path& dir);

 private:
  const std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::filesystem::path> idle_;
};

// Whether `dir` holds no entry and no extended attribute, after putting
// back hookd's owner and mode 0700 if the run changed them. Blocks.
bool reset_run_dir(const std::filesystem::path& dir);

}  // namespace hookd
