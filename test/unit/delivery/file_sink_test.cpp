// FileSink: the rotation decision and its renames as tables, then the sink
// on real files: appends, mode 0600, rotation at max_bytes keeping `keep`
// files, and reopening by name after an external rename (as logrotate does).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/delivery/file_sink.h"
#include "support/support.h"

namespace fs = std::filesystem;
using hookd::FileSink;
using hookd::test::read_file;
using hookd::test::TempDir;

TEST_CASE("rotation is due only with a limit, a non-empty file and a batch that would pass it") {
  struct Case {
    std::uint64_t size, incoming, max;
    bool due;
  };
  const std::vector<Case> cases = {
      {0, 10, 0, false},                               // no limit
      {1000, 10, 0, false},                            // no limit, however large
      {0, 5000, 4096, false},                          // empty file: a large batch goes in whole
      {4000, 96, 4096, false},                         // exactly at the limit
      {4000, 97, 4096, true},                          // one byte past it
      {4096, 1, 4096, true},                           // full
      {10, 10, 4096, false},   {5000, 1, 4096, true},  // already past (limit lowered by a restart)
  };
  for (const auto& c : cases) {
    INFO(c.size << " + " << c.incoming << " vs " << c.max);
    CHECK(hookd::rotation_due(c.size, c.incoming, c.max) == c.due);
  }
}

TEST_CASE("rotation renames shift every kept file by one, oldest first") {
  using Renames = std::vector<std::pair<fs::path, fs::path>>;
  CHECK(hookd::rotation_renames("/d/e.ndjson", 1) == Renames{{"/d/e.ndjson", "/d/e.ndjson.1"}});
  CHECK(hookd::rotation_renames("/d/e.ndjson", 3) == Renames{{"/d/e.ndjson.2", "/d/e.ndjson.3"},
                                                             {"/d/e.ndjson.1", "/d/e.ndjson.2"},
                                                             {"/d/e.ndjson", "/d/e.ndjson.1"}});
  CHECK(hookd::rotation_renames("/d/e.ndjson", 0).empty());
}

TEST_CASE("a file sink appends whole batches to a 0600 file it creates") {
  TempDir dir;
  const fs::path path = dir.path() / "sub" / "events.ndjson";
  FileSink sink(path, 0, 5);
  REQUIRE(sink.append("{\"id\":\"a\"}\n").ok());
  REQUIRE(sink.append("{\"id\":\"b\"}\n{\"id\":\"c\"}\n").ok());
  CHECK(read_file(path) == "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(sink.size() == fs::file_size(path));

  // A second sink (a restart) appends after what is there.
  sink.close();
  FileSink again(path, 0, 5);
  REQUIRE(again.append("{\"id\":\"d\"}\n").ok());
  CHECK(read_file(path).size() == 4 * 11);
}

TEST_CASE("a file sink rotates at max_bytes and keeps `keep` old files") {
  TempDir dir;
  const fs::path path = dir.path() / "events.ndjson";
  const std::string line(1000, 'x');
  FileSink sink(path, 4096, 2);
  // Four 1001-byte lines fill 4004 bytes; each next line rotates.
  for (int i = 0; i < 10; ++i)
    REQUIRE(sink.append(line + "\n").ok());
  const fs::path one = dir.path() / "events.ndjson.1";
  const fs::path two = dir.path() / "events.ndjson.2";
  const fs::path three = dir.path() / "events.ndjson.3";
  REQUIRE(fs::exists(one));
  REQUIRE(fs::exists(two));
  CHECK_FALSE(fs::exists(three));  // keep=2: the oldest went
  CHECK(fs::file_size(path) == 2 * 1001);
  CHECK(fs::file_size(one) == 4 * 1001);
  CHECK(fs::file_size(two) == 4 * 1001);
  for (const auto& p : {path, one, two})
    CHECK(fs::file_size(p) <= 4096);
}

TEST_CASE("a file sink writes to the new file after reopen once logrotate moved the old one") {
  TempDir dir;
  const fs::path path = dir.path() / "events.ndjson";
  const fs::path moved = dir.path() / "events.ndjson-20261124";
  FileSink sink(path, 0, 5);
  REQUIRE(sink.append("before\n").ok());
  fs::rename(path, moved);
  REQUIRE(sink.append("still old\n").ok());  // the open file went with the rename
  sink.reopen();
  REQUIRE(sink.append("after\n").ok());
  CHECK(read_file(moved) == "before\nstill old\n");
  CHECK(read_file(path) == "after\n");
}

TEST_CASE("a file sink refuses a path it cannot write, naming it") {
  TempDir dir;
  fs::create_directories(dir.path() / "a-directory");
  FileSink sink(dir.path() / "a-directory", 0, 5);
  auto st = sink.open();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("a-directory") != std::string::npos);
}

TEST_CASE("a file sink cuts the half line a killed writer left before it appends") {
  TempDir dir;
  const fs::path path = dir.path() / "events.ndjson";
  // The last line torn mid-way; long enough that its newline-free tail spans
  // more than one 4 KiB read.
  const std::string whole = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n";
  hookd::test::write_file(path, whole + "{\"id\":\"c\",\"pad\":\"" + std::string(9000, 'x'));
  FileSink sink(path, 0, 5);
  REQUIRE(sink.open().ok());
  CHECK(sink.size() == whole.size());
  REQUIRE(sink.append("{\"id\":\"c\"}\n").ok());
  CHECK(read_file(path) == whole + "{\"id\":\"c\"}\n");

  // No newline at all: nothing of it was a whole line.
  hookd::test::write_file(path, std::string(5000, 'y'));
  FileSink fresh(path, 0, 5);
  REQUIRE(fresh.append("{\"id\":\"d\"}\n").ok());
  CHECK(read_file(path) == "{\"id\":\"d\"}\n");

  // A file that ends in a newline is left as it is.
  hookd::test::write_file(path, whole);
  FileSink intact(path, 0, 5);
  REQUIRE(intact.open().ok());
  CHECK(intact.size() == whole.size());
  CHECK(read_file(path) == whole);
}
