// Which run directories may serve another run: only one its run left as
// mkdtemp made it (or as can be put back so), and never more than the cap.
#include "hookd/hooks/idle_run_dirs.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/support.h"

namespace fs = std::filesystem;
using hookd::IdleRunDirs;
using hookd::reset_run_dir;
using hookd::test::TempDir;
using hookd::test::write_file;

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("a run directory is reused only as the run's predecessor left it clean",
          "[idle_run_dirs]") {
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> run_did;
    bool reusable;
  };
  const std::vector<Case> cases = {
      {"nothing", [](const fs::path&) {}, true},
      {"a file", [](const fs::path& d) { write_file(d / "left.txt", "for the next run"); }, false},
      {"a hidden file", [](const fs::path& d) { write_file(d / ".x", ""); }, false},
      {"an empty directory", [](const fs::path& d) { fs::create_directory(d / "sub"); }, false},
      {"a symlink", [](const fs::path& d) { fs::create_symlink("/etc/passwd", d / "l"); }, false},
      {"its mode opened up",
       [](const fs::path& d) { fs::permissions(d, fs::perms::all | fs::perms::sticky_bit); }, true},
      {"an extended attribute",
       [](const fs::path& d) {
         if (::setxattr(d.c_str(), "user.note", "hi", 2, 0) != 0) {
           // No user xattrs on this filesystem: the case cannot happen here.
           write_file(d / "stand-in", "");
         }
       },
       false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    TempDir tmp;
    auto dir = tmp.path() / "run-abc";
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    c.run_did(dir);
    CHECK(reset_run_dir(dir) == c.reusable);
    if (c.reusable) CHECK(mode_of(dir) == 0700);
  }
}

TEST_CASE("what is not a directory is never reused", "[idle_run_dirs]") {
  TempDir tmp;
  CHECK_FALSE(reset_run_dir(tmp.path() / "missing"));
  write_file(tmp.path() / "file", "");
  CHECK_FALSE(reset_run_dir(tmp.path() / "file"));
  fs::create_directory(tmp.path() / "target");
  fs::create_directory_symlink(tmp.path() / "target", tmp.path() / "link");
  CHECK_FALSE(reset_run_dir(tmp.path() / "link"));
}

TEST_CASE("idle run directories are handed out again up to the cap, the rest removed by the caller",
          "[idle_run_dirs]") {
  TempDir tmp;
  std::vector<fs::path> dirs;
  for (int i = 0; i < 3; ++i) {
    dirs.push_back(tmp.path() / ("run-" + std::to_string(i)));
    fs::create_directory(dirs.back());
  }
  {
    IdleRunDirs idle(2);
    CHECK_FALSE(idle.take());
    CHECK(idle.give_back(dirs[0]));
    CHECK(idle.give_back(dirs[1]));
    CHECK_FALSE(idle.give_back(dirs[2]));  // full
    auto first = idle.take();
    REQUIRE(first);
    CHECK((*first == dirs[0] || *first == dirs[1]));
    write_file(*first / "used", "");
    CHECK_FALSE(idle.give_back(*first));  // not clean: the caller removes it
  }
  // What was still idle went with the pool.
  int left = 0;
  for (const auto& d : dirs)
    left += fs::exists(d) ? 1 : 0;
  CHECK(left == 2);  // the one taken (and dirtied) and the one refused
}
