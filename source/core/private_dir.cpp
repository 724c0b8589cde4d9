#include "hookd/core/private_dir.h"

#include <cstdio>
#include <system_error>

namespace hookd {
namespace {

namespace fs = std::filesystem;

constexpr fs::perms kShared = fs::perms::group_all | fs::perms::others_all;

bool shared(fs::perms p) {
  return (p & kShared) != fs::perms::none;
}

// Everything below `dir` loses its group and other bits; entries that vanish
// meanwhile are skipped. The count of entries changed.
Result<std::size_t> tighten_below(const fs::path& dir) {
  std::size_t changed = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;
    fs::file_status st = it->symlink_status(entry_ec);
    if (entry_ec || fs::is_symlink(st) || !shared(st.permissions())) continue;
    fs::permissions(it->path(), kShared, fs::perm_options::remove, entry_ec);
    if (entry_ec && entry_ec != std::errc::no_such_file_or_directory) {
      return make_error(it->path().string() + ": " + entry_ec.message());
    }
    ++changed;
  }
  if (ec) return make_error(dir.string() + ": " + ec.message());
  return changed;
}

}  // namespace

std::string octal_mode(fs::perms permissions) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(permissions & fs::perms::mask));
  return text;
}

Result<PrivateDir> make_private_dir(const fs::path& dir) {
  PrivateDir out;
  const std::string fix = "; create it as hookd's user: mkdir -p -m 700 " + dir.string();
  std::error_code ec;
  out.created = fs::create_directories(dir, ec);
  if (ec) return make_error("data dir " + dir.string() + ": " + ec.message() + fix);
  fs::file_status st = fs::status(dir, ec);
  if (ec) return make_error("data dir " + dir.string() + ": " + ec.message() + fix);
  if (!fs::is_directory(st)) return make_error("data dir " + dir.string() + " is not a directory");
  if (!shared(st.permissions())) return out;

  // Created here only under a umask that lets group or others in: nothing
  // below it yet. Existing: it may hold files an older hookd made 0644.
  if (!out.created) out.was = st.permissions();
  const std::string refused = "data dir " + dir.string() + " is accessible to other users (" +
                              octal_mode(st.permissions()) + ") and cannot be made private: ";
  const std::string manual = "; fix: chmod 700 " + dir.string() + " as its owner";
  fs::permissions(dir, kShared, fs::perm_options::remove, ec);
  if (ec) return make_error(refused + ec.message() + manual);
  if (out.was) {
    auto below = tighten_below(dir);
    if (!below) return make_error(refused + below.error().message + manual);
    out.entries_tightened = *below;
  }
  return out;
}

}  // namespace hookd
