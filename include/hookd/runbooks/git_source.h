// The local bare clone of the runbooks remote (<dir>/repo) and the fetch of
// the one ref hookd serves into it, plus the record of the last good fetch
// (refs/hookd/last-good and hookd.* in the clone's config) that lets a restart
// serve the same snapshot while the remote is down. Not thread-safe: the
// runbooks worker thread only, between LibGit2's init and shutdown; only the
// FetchControl it is given is cancelled from other threads.
#pragma once

#include <memory>
#include <string>

#include "hookd/core/result.h"
#include "hookd/runbooks/credentials.h"
#include "hookd/runbooks/libgit2.h"
#include "hookd/runbooks/runbooks.h"
#include "hookd/runbooks/snapshot.h"

namespace hookd {

class FetchControl;

// Why a fetch failed, for the log, the stats and the next step.
struct FetchFailure {
  std::string message;  // secrets redacted
  std::string klass = "hookd";
  bool timed_out = false;
  bool cancelled = false;  // by the FetchControl: its deadline, a size limit, or stop()
  bool local = false;      // the local clone is at fault: start it afresh
};

// The remote ref a download fetched.
struct FetchedRef {
  std::string name;  // "refs/heads/main"; "HEAD" for a detached remote HEAD
  git_oid commit;
};

class GitSource {
 public:
  GitSource(const RunbooksOptions& options, ScriptStore scripts, FetchControl& control);
  ~GitSource();
  GitSource(const GitSource&) = delete;
  GitSource& operator=(const GitSource&) = delete;

  // The snapshot the last good fetch recorded in the clone, when it was
  // fetched for the same URL and branch; null if none. An unreadable one
  // drops the clone.
  std::shared_ptr<RunbooksSnapshot> kept_snapshot();
  // Connects (cancelled through `control`), picks the ref (the branch, or the
  // remote's HEAD) and downloads its objects, nothing more.
  Result<FetchedRef> download(FetchFailure& failure);
  // The snapshot of a downloaded ref, recorded as the last good one.
  Result<std::shared_ptr<const RunbooksSnapshot>> snapshot_of(const FetchedRef& ref,
                                                              FetchFailure& failure);
  // Deletes the local clone; the next fetch clones afresh.
  void drop_clone();

 private:
  struct Callbacks;

  Status open_clone();
  // Rewrites an existing clone's stored remote URL (and hookd.source) without
  // the credentials an older hookd kept there; false when it cannot.
  bool remove_stored_credentials(git_repository* repo) const;
  // The branch asked for, or the branch the remote's HEAD names (or points
  // at); "HEAD" itself for a detached HEAD.
  Result<FetchedRef> pick_ref(const git_remote_head** heads, std::size_t head_count,
                              FetchFailure& failure) const;
  void record_last_good(const FetchedRef& ref, std::int64_t fetched_unix_ms);
  FetchFailure git_failure(const std::string& what, const FetchCredentials* credentials) const;

  const RunbooksOptions& options_;
  const std::filesystem::path repo_dir_;
  const std::string source_key_;  // what a kept snapshot must have been fetched for
  ScriptStore scripts_;
  FetchControl& control_;
  SshKeyFile key_file_;
  RepositoryPtr repo_;
};

}  // namespace hookd
