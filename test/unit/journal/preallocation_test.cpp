// Preallocated segments: the zeros after the last record are the end of the
// data (before and after a crash), never damage; and the dedupe window
// through the journal itself, live and across a reopen.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "hookd/journal/frame.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/recovery_scan.h"
#include "support/journal_appends.h"
#include "support/support.h"

namespace {

namespace fs = std::filesystem;
using hookd::AppendResult;
using hookd::Event;
using hookd::JournalOptions;
using hookd::journal_detail::encode_record;
using hookd::journal_detail::scan_segment;
using hookd::test::append_and_wait;
using hookd::test::open_journal_or_throw;
using hookd::test::sized_event;
using hookd::test::TempDir;
using namespace std::chrono_literals;

constexpr std::uint64_t kSegmentBytes = 64 * 1024;

JournalOptions preallocated(const fs::path& dir) {
  JournalOptions o;
  o.dir = dir / "journal";
  o.segment_bytes = kSegmentBytes;
  o.preallocate = true;
  return o;
}

std::vector<Event> events(const std::string& prefix, int from, int count) {
  std::vector<Event> out;
  for (int i = from; i < from + count; ++i)
    out.push_back(sized_event(prefix + std::to_string(i), 300));
  return out;
}

std::vector<fs::path> files_with(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == extension) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string bytes_of(const std::vector<std::uint64_t>& seqs) {
  std::string out;
  for (auto seq : seqs)
    encode_record(out, seq, sized_event("r" + std::to_string(seq), 50));
  return out;
}

}  // namespace

TEST_CASE("zeros after a torn record are a torn tail, zeros before data are damage",
          "[journal][recovery][preallocate]") {
  const std::string three = bytes_of({1, 2, 3});
  const std::string fourth = bytes_of({4});
  struct Case {
    const char* name;
    std::string bytes;
    std::size_t records;
    bool zero_tail, data_follows;
  };
  const std::vector<Case> cases{
      {"a preallocated tail", three + std::string(4096, '\0'), 3, true, false},
      {"a record cut short, then preallocated zeros",
       three + fourth.substr(0, fourth.size() / 2) + std::string(4096, '\0'), 3, false, false},
      {"a zero run with a record behind it", three + std::string(64, '\0') + fourth, 3, false,
       true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto scan = scan_segment(c.bytes, 1);
    CHECK(scan.offsets.size() == c.records);
    CHECK(scan.valid_bytes == three.size());
    CHECK(scan.zero_tail == c.zero_tail);
    CHECK(scan.data_follows == c.data_follows);
    CHECK(scan.arrivals_ms.size() == c.records);
  }
}

TEST_CASE("preallocated segments hold their size and recover without loss",
          "[journal][preallocate]") {
  TempDir tmp;
  const auto options = preallocated(tmp.path());
  std::uint64_t bytes = 0;
  {
    auto j = open_journal_or_throw(options);
    const auto first = files_with(options.dir, ".seg");
    REQUIRE(first.size() == 1);
    CHECK(fs::file_size(first[0]) == kSegmentBytes);  // reserved before any record
    for (int i = 0; i < 60; ++i) {
      REQUIRE(append_and_wait(*j, events("p", i * 10, 10)).code == AppendResult::Code::ok);
    }
    bytes = j->stats().bytes;
    CHECK(j->stats().segments > 1);
    CHECK(bytes < j->stats().segments * kSegmentBytes);  // records, not reserved space
  }
  // Every segment, sealed or not, is its full size: a roll reserved it.
  for (const auto& file : files_with(options.dir, ".seg")) {
    INFO(file);
    CHECK(fs::file_size(file) == kSegmentBytes);
  }
  auto j = open_journal_or_throw(options);
  CHECK(j->stats().last_seq == 600);
  CHECK(j->stats().bytes == bytes);
  CHECK(files_with(options.dir, ".corrupt").empty());
  auto all = j->read(0, 1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 600);
  for (std::size_t i = 0; i < all->size(); ++i)
    REQUIRE((*all)[i].event.id == "p" + std::to_string(i));
  // Appends continue where the records end, not after the reserved space.
  REQUIRE(append_and_wait(*j, events("after", 0, 1)).code == AppendResult::Code::ok);
  CHECK(j->lookup("after0")->seq == 601);
}

TEST_CASE("a write torn inside the reserved space is cut without a corrupt copy",
          "[journal][preallocate]") {
  TempDir tmp;
  const auto options = preallocated(tmp.path());
  std::uint64_t data_end = 0;
  {
    auto j = open_journal_or_throw(options);
    REQUIRE(append_and_wait(*j, events("t", 0, 5)).code == AppendResult::Code::ok);
    data_end = j->stats().bytes;
  }
  const auto file = files_with(options.dir, ".seg").at(0);
  {
    // Half a record where the next batch would have gone, as a crash in the
    // middle of its pwrite leaves it.
    std::string data = hookd::test::read_file(file);
    std::string torn;
    encode_record(torn, 6, sized_event("t5", 300));
    data.replace(data_end, torn.size() / 2, torn.substr(0, torn.size() / 2));
    hookd::test::write_file(file, data);
  }
  auto j = open_journal_or_throw(options);
  CHECK(j->stats().last_seq == 5);
  CHECK(j->stats().bytes == data_end);
  CHECK(files_with(options.dir, ".corrupt").empty());
  CHECK_FALSE(j->lookup("t5"));
  CHECK(fs::file_size(file) == kSegmentBytes);  // reserved again
  REQUIRE(append_and_wait(*j, events("t", 5, 1)).code == AppendResult::Code::ok);
  CHECK(j->lookup("t5")->seq == 6);
}

TEST_CASE("an id is a duplicate within the dedupe window and new after it", "[journal][dedupe]") {
  TempDir tmp;
  auto options = preallocated(tmp.path());
  options.dedupe_window = 300ms;
  auto j = open_journal_or_throw(options);
  REQUIRE(append_and_wait(*j, {sized_event("once")}).code == AppendResult::Code::ok);
  auto again = append_and_wait(*j, {sized_event("once")});
  REQUIRE(again.code == AppendResult::Code::ok);
  CHECK(again.duplicate == std::vector<bool>{true});
  CHECK(j->lookup("once")->seq == 1);

  // Past the window (plus its 1/1024 granularity), waited for, not timed.
  std::this_thread::sleep_for(400ms);
  auto later = append_and_wait(*j, {sized_event("once")});
  REQUIRE(later.code == AppendResult::Code::ok);
  CHECK(later.duplicate == std::vector<bool>{false});
  CHECK(j->lookup("once")->seq == 2);  // the old one is no longer indexed
  CHECK(j->stats().last_seq == 2);
  auto all = j->read(0, 10);
  REQUIRE(all.ok());
  CHECK(all->size() == 2);  // both stay in the journal for the consumers
}

TEST_CASE("a reopen indexes only the ids that arrived within the window", "[journal][dedupe]") {
  TempDir tmp;
  auto options = preallocated(tmp.path());
  options.dedupe_window = 1h;
  {
    auto j = open_journal_or_throw(options);
    auto old = events("old", 0, 3);
    for (auto& e : old)
      e.arrival_unix_ms = hookd::now_unix_ms() - 2 * 3600 * 1000;
    REQUIRE(append_and_wait(*j, std::move(old)).code == AppendResult::Code::ok);
    REQUIRE(append_and_wait(*j, events("new", 0, 3)).code == AppendResult::Code::ok);
  }
  auto j = open_journal_or_throw(options);
  CHECK_FALSE(j->lookup("old0"));
  CHECK(j->lookup("new0"));
  auto r = append_and_wait(*j, {sized_event("old1"), sized_event("new1")});
  REQUIRE(r.code == AppendResult::Code::ok);
  CHECK(r.duplicate == std::vector<bool>{false, true});

  // With no window every retained id is indexed.
  j->close();
  j.reset();
  options.dedupe_window = 0ms;
  j = open_journal_or_throw(options);
  CHECK(j->lookup("old0"));
}
