#include "support/data_dir_scan.h"

#include <cstdio>

#include "support/support.h"

namespace hookd::test {

namespace fs = std::filesystem;

std::vector<fs::path> files_containing(const fs::path& dir, const std::string& needle) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_symlink() || !entry.is_regular_file()) continue;
    if (read_file(entry.path()).find(needle) != std::string::npos) found.push_back(entry.path());
  }
  return found;
}

std::vector<std::string> entries_open_to_others(const fs::path& dir) {
  std::vector<std::string> open;
  auto check = [&](const fs::path& path) {
    fs::file_status st = fs::symlink_status(path);
    if (fs::is_symlink(st)) return;
    auto bits = st.permissions() & (fs::perms::group_all | fs::perms::others_all);
    if (bits == fs::perms::none) return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.permissions()));
    open.push_back(path.string() + " " + mode);
  };
  check(dir);
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    check(entry.path());
  return open;
}

std::size_t entries_under(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    n += entry.is_regular_file() || entry.is_directory();
  }
  return n;
}

}  // namespace hookd::test
