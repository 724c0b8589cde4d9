// Runbooks source: keeps a local clone of the operator's runbooks git
// repository (libgit2, on its own worker thread), fetches it again whenever
// the snapshot is older than GIT_HOOK_CONFIG_TTL, and publishes immutable
// snapshots of the hook scripts under hoop-hooks/ for the hook runner.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

struct RunbooksOptions {
  std::string url;              // local path, file://, git://, http(s)://, ssh://, user@host:path
  std::string branch;           // empty: the remote's default branch (HEAD)
  std::chrono::seconds ttl{0};  // GIT_HOOK_CONFIG_TTL; fetch again when the snapshot is older
                                // (values under 1 s count as 1 s)
  std::string user, password;   // HTTPS basic auth
  std::string ssh_key;          // key file path or the PEM itself
  std::string ssh_user = "git", ssh_keypass, ssh_known_hosts;  // known_hosts file path
  std::chrono::seconds fetch_timeout{60};  // whole fetch: connect, negotiate, download
  std::filesystem::path dir;               // <data-dir>/runbooks
  // PEM CA bundle for https:// remotes (--git-ca); when set, it decides
  // trust instead of the system CAs (verify_server_certificate).
  std::filesystem::path ca_file;
  // Limits. A bigger script is left out of the snapshot (logged, counted); a
  // bigger download aborts the fetch.
  std::uint64_t max_script_bytes = 4ull << 20;
  std::uint64_t max_fetch_bytes = 512ull << 20;
  // First retry after a failed fetch; doubles per consecutive failure, never
  // beyond ttl.
  std::chrono::seconds retry_min{5};
};

struct RunbooksSnapshot {
  std::string commit_id;             // hex
  std::string ref;                   // the remote ref it came from, "refs/heads/main"
  std::int64_t fetched_unix_ms = 0;  // when this snapshot was (re)confirmed by a fetch
  // script file name under hoop-hooks/ ("session-open.runbook.py") -> content-addressed copy on
  // disk (<dir>/scripts/<blob id>.runbook.py), never modified once written.
  std::map<std::string, std::filesystem::path> scripts;
  // event type "a.b" -> script for "a-b.runbook.py" (hook_script_name in event.h), if any.
  std::optional<std::filesystem::path> script_for(std::string_view event_type) const;
};

// Counters of one source, for /readyz and tests.
struct RunbooksStats {
  std::uint64_t fetches_ok = 0;
  std::uint64_t fetches_failed = 0;
  std::uint64_t consecutive_failures = 0;
  std::string last_error;  // of the latest fetch; empty once a fetch succeeds
  bool fetching = false;
};

class RunbooksSource {
 public:
  // Throws std::invalid_argument when url or dir is empty.
  explicit RunbooksSource(RunbooksOptions options);
  ~RunbooksSource();  // stop()
  RunbooksSource(const RunbooksSource&) = delete;
  RunbooksSource& operator=(const RunbooksSource&) = delete;

  // Starts the worker thread: reuse or clone, publish the snapshot kept in the
  // local clone (if any), fetch, then fetch again per TTL. Returns at once.
  void start();
  // Cancels a running fetch, joins the threads. Idempotent.
  void stop();
  // Null until the first success (of this run, or kept in the local clone by a previous one).
  std::shared_ptr<const RunbooksSnapshot> snapshot() const;
  // Wakes the worker to fetch now; false when it is not running. Returns at once.
  bool refresh_now();
  RunbooksStats stats() const;
  // {"commit":..,"ref":..,"age_seconds":..,"scripts":..,"last_error":..,"fetches_ok":..,
  //  "fetches_failed":..,"fetching":..}; commit, ref, age_seconds and last_error may be null.
  std::string status_json() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
