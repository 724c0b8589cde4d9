// The content-addressed script store: each copy written once, read-only, and
// what an interrupted write leaves behind removed. Real files in a TempDir.
#include "hookd/runbooks/snapshot.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/support.h"

using namespace hookd;
namespace fs = std::filesystem;
using hookd::test::read_file;
using hookd::test::TempDir;
using hookd::test::write_file;

namespace {

ino_t inode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("ScriptStore writes each blob once, read-only, under its id", "[snapshot]") {
  TempDir tmp;
  ScriptStore store(tmp.path() / "scripts");
  REQUIRE(store.create_dir());
  auto path = store.store("ab12cd", "print('v1')\n");
  REQUIRE(path);
  CHECK(*path == tmp.path() / "scripts" / "ab12cd.runbook.py");
  CHECK(read_file(*path) == "print('v1')\n");
  CHECK((fs::status(*path).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read));

  // The same blob again: the file a running hook may hold is not replaced.
  ino_t first = inode_of(*path);
  auto again = store.store("ab12cd", "print('v1')\n");
  REQUIRE(again);
  CHECK(*again == *path);
  CHECK(inode_of(*path) == first);

  // A copy cut short (a crash before rename cannot do this, a disk fault can) is written anew.
  auto other = store.store("ef34", "print('long enough')\n");
  REQUIRE(other);
  fs::permissions(*other, fs::perms::owner_write, fs::perm_options::add);
  write_file(*other, "print(");
  REQUIRE(store.store("ef34", "print('long enough')\n"));
  CHECK(read_file(*other) == "print('long enough')\n");
}

TEST_CASE("ScriptStore: a read-only temporary left by a crash does not block the write",
          "[snapshot]") {
  TempDir tmp;
  ScriptStore store(tmp.path());
  fs::path leftover = tmp.path() / "ab12.runbook.py.tmp";
  write_file(leftover, "half");
  fs::permissions(leftover, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  auto path = store.store("ab12", "print('whole')\n");
  REQUIRE(path);
  CHECK(read_file(*path) == "print('whole')\n");
  CHECK_FALSE(fs::exists(leftover));
}

TEST_CASE("ScriptStore::remove_leftovers removes temporaries and nothing else", "[snapshot]") {
  TempDir tmp;
  ScriptStore store(tmp.path());
  write_file(tmp.path() / "a1.runbook.py", "keep");
  write_file(tmp.path() / "a2.runbook.py.tmp", "new-style leftover");
  write_file(tmp.path() / "a3.runbook.py.tmp.4242.7", "old-style leftover");
  store.remove_leftovers();
  CHECK(fs::exists(tmp.path() / "a1.runbook.py"));
  CHECK_FALSE(fs::exists(tmp.path() / "a2.runbook.py.tmp"));
  CHECK_FALSE(fs::exists(tmp.path() / "a3.runbook.py.tmp.4242.7"));
  // No directory yet: nothing to do, no error.
  ScriptStore absent(tmp.path() / "absent");
  absent.remove_leftovers();
  CHECK_FALSE(fs::exists(tmp.path() / "absent"));
}
