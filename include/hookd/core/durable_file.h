// Durable file writes for the small state files every module keeps under the
// data directory (cursors, endpoint state, dead letters, API objects). Each
// call blocks on fsync: run them on a worker thread or at start-up, never on a
// reactor. Thread-safe (no shared state); files are created 0600.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

// write(2) until all of `data` is written, retrying EINTR.
Status write_all(int fd, std::string_view data);

// fsync of a directory, so a create, rename or unlink in it survives a crash.
// Returns false when the directory cannot be opened or synced.
bool fsync_dir(const std::filesystem::path& dir);

// Appends `data` and fdatasyncs it; a new file's directory entry is synced too.
Status append_durable(const std::filesystem::path& file, std::string_view data);

// Writes `<file>.tmp`, fsyncs it, renames it over `file` and syncs the
// directory: a reader (or a restart after a crash) sees the old or the new
// content, never a mix. The file gets `permissions` (0600 unless told).
Status write_atomic(const std::filesystem::path& file, std::string_view data,
                    std::filesystem::perms permissions = std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);

// The whole file, or nullopt when it cannot be opened.
std::optional<std::string> read_whole_file(const std::filesystem::path& file);

}  // namespace hookd
