// make_private_dir on real directories: created 0700, or an existing one
// opened to group or others closed again, with everything in it.
#include "hookd/core/private_dir.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/scoped_umask.h"
#include "support/support.h"

namespace fs = std::filesystem;
using hookd::make_private_dir;
using hookd::octal_mode;
using hookd::test::TempDir;
using hookd::test::write_file;

namespace {

fs::perms mode_of(const fs::path& p) {
  return fs::symlink_status(p).permissions() & fs::perms::mask;
}

constexpr fs::perms kOwnerAll = fs::perms::owner_all;

}  // namespace

TEST_CASE("octal_mode prints chmod's notation", "[private_dir]") {
  CHECK(octal_mode(fs::perms::owner_all) == "0700");
  CHECK(octal_mode(fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                   fs::perms::others_read | fs::perms::others_exec) == "0755");
  CHECK(octal_mode(fs::perms::owner_read | fs::perms::owner_write) == "0600");
}

TEST_CASE("a missing data dir is created 0700 even under umask 0", "[private_dir]") {
  TempDir tmp;
  hookd::test::ScopedUmask open_umask(0);
  auto made = make_private_dir(tmp.path() / "data");
  REQUIRE(made.ok());
  CHECK(made->created);
  CHECK_FALSE(made->was.has_value());
  CHECK(mode_of(tmp.path() / "data") == kOwnerAll);
}

TEST_CASE("an existing private data dir is left as it is", "[private_dir]") {
  TempDir tmp;
  fs::create_directory(tmp.path() / "data");
  fs::permissions(tmp.path() / "data", kOwnerAll);
  write_file(tmp.path() / "data" / "kept", "x");
  fs::permissions(tmp.path() / "data" / "kept", fs::perms::owner_read | fs::perms::group_read);
  auto made = make_private_dir(tmp.path() / "data");
  REQUIRE(made.ok());
  CHECK_FALSE(made->created);
  CHECK_FALSE(made->was.has_value());
  // Unreachable for others through a 0700 directory: not walked.
  CHECK(mode_of(tmp.path() / "data" / "kept") == (fs::perms::owner_read | fs::perms::group_read));
}

TEST_CASE("an existing 0755 data dir loses group and other bits, with everything in it",
          "[private_dir]") {
  TempDir tmp;
  const fs::path data = tmp.path() / "data";
  fs::create_directories(data / "journal");
  write_file(data / "journal" / "00000001.seg", "payload");
  write_file(data / "LOCK", "");
  write_file(tmp.path() / "outside", "not hookd's");
  fs::create_symlink(tmp.path() / "outside", data / "link");
  const fs::perms world_read = fs::perms::owner_read | fs::perms::owner_write |
                               fs::perms::group_read | fs::perms::others_read;
  const fs::perms open_dir = kOwnerAll | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec;
  fs::permissions(data / "journal" / "00000001.seg", world_read);
  fs::permissions(data / "LOCK", fs::perms::owner_read | fs::perms::owner_write);  // already fine
  fs::permissions(data / "journal", open_dir);
  fs::permissions(data, open_dir);
  fs::permissions(tmp.path() / "outside", world_read);

  auto made = make_private_dir(data);
  REQUIRE(made.ok());
  CHECK_FALSE(made->created);
  REQUIRE(made->was.has_value());
  CHECK(octal_mode(*made->was) == "0755");
  CHECK(made->entries_tightened == 2);  // journal/ and the segment
  CHECK(mode_of(data) == kOwnerAll);
  CHECK(mode_of(data / "journal") == kOwnerAll);
  CHECK(mode_of(data / "journal" / "00000001.seg") ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(mode_of(data / "LOCK") == (fs::perms::owner_read | fs::perms::owner_write));
  // A link is not followed: what it points at is not hookd's.
  CHECK(mode_of(tmp.path() / "outside") == world_read);
}

TEST_CASE("a data dir path that is a file is refused in one line", "[private_dir]") {
  TempDir tmp;
  write_file(tmp.path() / "data", "not a directory");
  auto made = make_private_dir(tmp.path() / "data");
  REQUIRE_FALSE(made.ok());
  INFO(made.error().message);
  CHECK(made.error().message.find(tmp.path().string()) != std::string::npos);
  CHECK(made.error().message.find('\n') == std::string::npos);
}
