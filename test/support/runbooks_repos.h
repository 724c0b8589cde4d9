// Test support for the runbooks source: runbooks repositories made with the
// git CLI, options suited to tests, and waits on a RunbooksSource.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "hookd/runbooks/runbooks.h"

namespace hookd::test {

// `git -C repo <args>` with a fixed identity; its output without trailing
// newlines. Throws std::runtime_error with git's output when git fails.
std::string git(const std::filesystem::path& repo, const std::string& args);

// A work tree on branch main with README.md and, with hooks, hoop-hooks/
// holding session-open.runbook.py ("print('open v1')\n"),
// session-close.runbook.py ("print('close v1')\n") and notes.txt (not a
// hook), all committed.
void make_runbooks_repo(const std::filesystem::path& dir, bool with_hooks = true);

// Writes hoop-hooks/<name> and commits it; the new commit id.
std::string commit_script(const std::filesystem::path& dir, const std::string& name,
                          const std::string& body);

// For `url`, the clone under data/runbooks: TTL 1 s, first retry after 1 s,
// fetch timeout 10 s.
RunbooksOptions runbooks_test_options(const std::string& url, const std::filesystem::path& data);

// Until the snapshot is `commit`, or 20 s.
bool wait_for_commit(const RunbooksSource& source, const std::string& commit);
// Until `at_least` fetches have failed, or 20 s.
bool wait_for_failures(const RunbooksSource& source, std::uint64_t at_least);

// hookd_runbooks_fetches_total{result="failed"} of this process.
double runbooks_fetches_failed_total();

}  // namespace hookd::test
