// The data directory holds every payload, the runbooks clone, delivery state
// and dead letters: only hookd's own user may read it. Blocking file-system
// calls, for start-up. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "hookd/core/result.h"

namespace hookd {

struct PrivateDir {
  bool created = false;
  // Set when the directory existed with group or other permissions: its mode
  // then. Those bits are now gone from it and from everything under it.
  std::optional<std::filesystem::perms> was;
  std::size_t entries_tightened = 0;  // files and directories under it fixed
};

// Creates `dir` (and missing parents) 0700; when it exists with any group or
// other bit, removes those bits from it and from everything below it
// (symbolic links are not followed). The error is one line saying what failed
// and how to fix it (e.g. "chmod 700 DIR").
Result<PrivateDir> make_private_dir(const std::filesystem::path& dir);

// "0755": the permission bits as chmod takes them.
std::string octal_mode(std::filesystem::perms permissions);

}  // namespace hookd
