// Numbered segment files in one folder (00000001.log, 00000002.log, ...):
// how the stores that keep records in numbered segments (delivery attempts,
// hook results) name them and recognise them when listing the folder.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace hookd {

// dir / "<number, 8 digits or more>.<extension>"; extension without the dot.
std::filesystem::path numbered_file(const std::filesystem::path& dir, std::uint32_t number,
                                    std::string_view extension);

// The number of a file named as numbered_file() names it (1 to 9 digits),
// or nullopt for any other name.
std::optional<std::uint32_t> numbered_file_number(const std::filesystem::path& path,
                                                  std::string_view extension);

}  // namespace hookd
