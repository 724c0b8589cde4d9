#include "hookd/core/numbered_file.h"

#include <cstdio>
#include <string>

namespace hookd {

std::filesystem::path numbered_file(const std::filesystem::path& dir, std::uint32_t number,
                                    std::string_view extension) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%08u", number);
  std::string name(digits);
  name += '.';
  name += extension;
  return dir / name;
}

std::optional<std::uint32_t> numbered_file_number(const std::filesystem::path& path,
                                                  std::string_view extension) {
  std::string name = path.filename().string();
  if (name.size() <= extension.size() + 1) return std::nullopt;
  std::string_view tail = std::string_view(name).substr(name.size() - extension.size() - 1);
  if (tail[0] != '.' || tail.substr(1) != extension) return std::nullopt;
  std::string_view digits = std::string_view(name).substr(0, name.size() - tail.size());
  // Nine digits at most: every such number fits a uint32.
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(std::stoul(std::string(digits)));
}

}  // namespace hookd
