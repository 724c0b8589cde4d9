// The spare segment: prepared off the journal thread only when asked for,
// taken once, never left behind; and a journal whose rolls use it loses
// nothing, before and after a reopen, with a stale spare from a crash
// removed by recovery.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hookd/core/metrics.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/segment_spare.h"
#include "support/journal_appends.h"
#include "support/support.h"

namespace {

namespace fs = std::filesystem;
using hookd::AppendResult;
using hookd::Event;
using hookd::JournalOptions;
using hookd::journal_detail::SegmentSpare;
using hookd::test::append_and_wait;
using hookd::test::open_journal_or_throw;
using hookd::test::sized_event;
using hookd::test::TempDir;
using namespace std::chrono_literals;

constexpr std::uint64_t kSegmentBytes = 64 * 1024;

// Polls take() until the spare's thread has a file ready (or 10 s pass).
std::optional<SegmentSpare::File> take_when_ready(SegmentSpare& spare) {
  for (int i = 0; i < 1000; ++i) {
    if (auto file = spare.take()) return file;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

double spare_rolls() {
  return hookd::metrics()
      .counter("hookd_journal_rolls_total", "New segments started, by where the file came from",
               {{"file", "spare"}})
      .value();
}

}  // namespace

TEST_CASE("a spare is prepared only when requested, reserved and taken once", "[journal][spare]") {
  TempDir tmp;
  {
    SegmentSpare spare(tmp.path(), kSegmentBytes, true, true);
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(spare.take());  // nothing asked for: nothing on the disk
    CHECK_FALSE(fs::exists(spare.path()));

    spare.request();
    auto file = take_when_ready(spare);
    REQUIRE(file);
    CHECK(file->path == spare.path());
    CHECK(file->preallocated);
    CHECK(fs::file_size(file->path) == kSegmentBytes);
    CHECK_FALSE(spare.take());  // taken once
    ::close(file->fd);
    fs::remove(file->path);

    spare.request();
    spare.request();  // one is being prepared: the second asks for nothing more
    auto second = take_when_ready(spare);
    REQUIRE(second);
    ::close(second->fd);
    fs::remove(second->path);
    // Left untaken: the destructor must remove it.
    spare.request();
    std::this_thread::sleep_for(100ms);
  }
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("a spare that cannot be made leaves nothing and is not retried unasked",
          "[journal][spare]") {
  TempDir tmp;
  SegmentSpare spare(tmp.path() / "missing", kSegmentBytes, true, true);
  spare.request();
  std::this_thread::sleep_for(100ms);
  fs::create_directory(tmp.path() / "missing");
  spare.request();  // no second try before a take(), that is the next roll
  std::this_thread::sleep_for(100ms);
  CHECK(fs::is_empty(tmp.path() / "missing"));
  CHECK_FALSE(spare.take());
  spare.request();
  auto file = take_when_ready(spare);
  REQUIRE(file);
  ::close(file->fd);
}

TEST_CASE("rolls into spares lose nothing and a crash's stale spare is removed",
          "[journal][spare]") {
  TempDir tmp;
  JournalOptions options;
  options.dir = tmp.path() / "journal";
  options.segment_bytes = kSegmentBytes;
  options.preallocate = true;
  const double spares_before = spare_rolls();
  int appended = 0;
  {
    auto j = open_journal_or_throw(options);
    for (int batch = 0; batch < 80; ++batch) {
      std::vector<Event> events;
      for (int i = 0; i < 10; ++i)
        events.push_back(sized_event("s" + std::to_string(appended++), 300));
      REQUIRE(append_and_wait(*j, std::move(events)).code == AppendResult::Code::ok);
      // Time for the spare's thread between batches, as a real load has.
      std::this_thread::sleep_for(5ms);
    }
    CHECK(j->stats().segments > 3);
  }
  CHECK(spare_rolls() > spares_before);
  CHECK_FALSE(fs::exists(options.dir / "next-segment.tmp"));  // closed: no spare kept

  // What a kill -9 leaves: a spare that nothing took.
  std::ofstream(options.dir / "next-segment.tmp") << std::string(4096, '\0');
  auto j = open_journal_or_throw(options);
  CHECK_FALSE(fs::exists(options.dir / "next-segment.tmp"));
  CHECK(j->stats().last_seq == static_cast<std::uint64_t>(appended));
  auto all = j->read(0, 1000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == static_cast<std::size_t>(appended));
  for (std::size_t i = 0; i < all->size(); ++i)
    REQUIRE((*all)[i].event.id == "s" + std::to_string(i));
}
