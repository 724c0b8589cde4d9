// Building a RunbooksSnapshot from a commit: the hook scripts under
// hoop-hooks/ copied out of git into a content-addressed store, each file
// written once under its blob id and read-only (0444), so a snapshot swap
// never changes a file a running hook already has. For the runbooks worker
// thread (libgit2 objects belong to it); the store itself is a value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include "hookd/core/result.h"
#include "hookd/runbooks/runbooks.h"

struct git_oid;
struct git_repository;

namespace hookd {

class ScriptStore {
 public:
  explicit ScriptStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  Status create_dir() const;
  // Deletes the temporary files of a write a crash interrupted.
  void remove_leftovers() const;
  // The copy of blob `blob_id`, written unless a complete one is there already.
  Result<std::filesystem::path> store(std::string_view blob_id, std::string_view content) const;

 private:
  std::filesystem::path dir_;
};

// The snapshot of `commit`: every regular file hoop-hooks/*.runbook.py, in
// `store`. A script over `max_script_bytes` is left out (logged, counted); no
// hoop-hooks/ gives an empty snapshot. ref and fetched_unix_ms are left for
// the caller. An error when the commit's objects cannot be read.
Result<std::shared_ptr<RunbooksSnapshot>> build_snapshot(git_repository* repo,
                                                         const git_oid& commit,
                                                         const ScriptStore& store,
                                                         std::uint64_t max_script_bytes);

}  // namespace hookd
