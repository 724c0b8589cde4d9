// Looks through a daemon's data directory the way an attacker with a copy of
// it would: every byte of every file, and every permission bit.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hookd::test {

// Every regular file under `dir` (recursively; links not followed) whose
// bytes, read raw, contain `needle`.
std::vector<std::filesystem::path> files_containing(const std::filesystem::path& dir,
                                                    const std::string& needle);

// `dir` and everything under it that grants any permission to group or
// others, as "<path> <mode>" (links, whose mode means nothing, left out).
std::vector<std::string> entries_open_to_others(const std::filesystem::path& dir);

// How many regular files and directories are under `dir`.
std::size_t entries_under(const std::filesystem::path& dir);

}  // namespace hookd::test
