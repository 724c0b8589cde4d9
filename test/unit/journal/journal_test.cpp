#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hookd/journal/journal.h"
#include "support/support.h"

namespace hookd::journal_detail {
std::uint32_t crc32c_table(const void* data, std::size_t size, std::uint32_t crc);
}

namespace {

using hookd::AppendResult;
using hookd::Event;
using hookd::FsyncMode;
using hookd::Journal;
using hookd::JournalOptions;
using hookd::test::TempDir;
namespace fs = std::filesystem;

Event make_event(const std::string& id, std::size_t payload_size = 100) {
  Event e;
  e.id = id;
  e.type = "session.open";
  e.timestamp = "2026-11-24T10:15:02.123Z";
  e.payload_json = "{\"data\":\"" + std::string(payload_size, 'x') + "\"}";
  e.arrival_unix_ms = 1764000000000 + static_cast<std::int64_t>(id.size());
  return e;
}

std::vector<Event> make_events(const std::string& prefix, int from, int count,
                               std::size_t payload_size = 100) {
  std::vector<Event> events;
  for (int i = from; i < from + count; ++i) {
    events.push_back(make_event(prefix + std::to_string(i), payload_size));
  }
  return events;
}

JournalOptions options_for(const fs::path& dir) {
  JournalOptions o;
  o.dir = dir / "journal";
  return o;
}

std::unique_ptr<Journal> open_journal(const JournalOptions& options) {
  auto j = hookd::open_file_journal(options);
  if (!j) FAIL("open_file_journal: " << j.error().message);
  return std::move(j).value();
}

AppendResult append_sync(Journal& j, std::vector<Event> events) {
  std::promise<AppendResult> promise;
  auto future = promise.get_future();
  j.append(std::move(events), [&](AppendResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Record offsets in a segment file, by walking the [u32 length][u32 crc] frames.
std::vector<std::uint64_t> record_offsets(const fs::path& file) {
  const std::string data = hookd::test::read_file(file);
  std::vector<std::uint64_t> offsets;
  std::size_t off = 0;
  while (off + 8 <= data.size()) {
    std::uint32_t len;
    std::memcpy(&len, data.data() + off, 4);
    offsets.push_back(off);
    off += 8 + len;
  }
  return offsets;
}

void flip_byte(const fs::path& file, std::uint64_t offset) {
  std::string data = hookd::test::read_file(file);
  REQUIRE(offset < data.size());
  data[offset] = static_cast<char>(data[offset] ^ 0x5A);
  hookd::test::write_file(file, data);
}

std::vector<std::uint64_t> all_seqs(Journal& j) {
  auto r = j.read(0, 1000000);
  REQUIRE(r.ok());
  std::vector<std::uint64_t> seqs;
  for (const auto& s : r.value())
    seqs.push_back(s.seq);
  return seqs;
}

}  // namespace

TEST_CASE("crc32c matches the standard check value and the table version", "[journal]") {
  const std::string check = "123456789";
  CHECK(hookd::crc32c(check.data(), check.size()) == 0xE3069283u);
  CHECK(hookd::journal_detail::crc32c_table(check.data(), check.size(), 0) == 0xE3069283u);
  CHECK(hookd::crc32c("", 0) == 0u);
  // Continuing a CRC over two pieces equals the CRC of the whole.
  CHECK(hookd::crc32c(check.data() + 4, 5, hookd::crc32c(check.data(), 4)) == 0xE3069283u);

  std::mt19937 rng(42);
  std::string data(4099, '\0');
  for (auto& c : data)
    c = static_cast<char>(rng());
  for (std::size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1000, 4099}) {
    for (std::size_t start : {0, 1, 3}) {
      if (start + len > data.size()) continue;
      INFO("len " << len << " start " << start);
      CHECK(hookd::crc32c(data.data() + start, len) ==
            hookd::journal_detail::crc32c_table(data.data() + start, len, 0));
    }
  }
}

TEST_CASE("append, read and lookup", "[journal]") {
  TempDir tmp;
  auto j = open_journal(options_for(tmp.path()));
  CHECK(j->stats().first_seq == 0);
  CHECK(j->stats().last_seq == 0);

  auto r = append_sync(*j, make_events("evt_", 1, 3));
  REQUIRE(r.code == AppendResult::Code::ok);
  REQUIRE(r.duplicate == std::vector<bool>{false, false, false});
  r = append_sync(*j, make_events("evt_", 4, 2));
  REQUIRE(r.code == AppendResult::Code::ok);

  auto stats = j->stats();
  CHECK(stats.first_seq == 1);
  CHECK(stats.last_seq == 5);
  CHECK(stats.segments == 1);
  CHECK(stats.pending_bytes == 0);
  CHECK(stats.writable);
  CHECK(stats.bytes == fs::file_size(segment_files(tmp.path() / "journal").at(0)));

  auto all = j->read(0, 100);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    const auto& s = (*all)[i];
    Event want = make_event("evt_" + std::to_string(i + 1));
    CHECK(s.seq == i + 1);
    CHECK(s.event.id == want.id);
    CHECK(s.event.type == want.type);
    CHECK(s.event.timestamp == want.timestamp);
    CHECK(s.event.payload_json == want.payload_json);
    CHECK(s.event.arrival_unix_ms == want.arrival_unix_ms);
  }

  auto some = j->read(2, 2);
  REQUIRE(some.ok());
  REQUIRE(some->size() == 2);
  CHECK((*some)[0].seq == 3);
  CHECK((*some)[1].seq == 4);
  CHECK(j->read(5, 10)->empty());
  CHECK(j->read(1000, 10)->empty());
  CHECK(j->read(0, 0)->empty());

  auto found = j->lookup("evt_4");
  REQUIRE(found);
  CHECK(found->seq == 4);
  CHECK(found->event.payload_json == make_event("evt_4").payload_json);
  CHECK(found->event.arrival_unix_ms == make_event("evt_4").arrival_unix_ms);
  CHECK_FALSE(j->lookup("evt_missing"));

  // An empty append is answered at once.
  CHECK(append_sync(*j, {}).code == AppendResult::Code::ok);
}

TEST_CASE("duplicates are flagged and not written", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    // Within one append.
    auto r = append_sync(*j, {make_event("a"), make_event("b"), make_event("a")});
    REQUIRE(r.code == AppendResult::Code::ok);
    CHECK(r.duplicate == std::vector<bool>{false, false, true});
    // Across appends.
    r = append_sync(*j, {make_event("b"), make_event("c")});
    REQUIRE(r.code == AppendResult::Code::ok);
    CHECK(r.duplicate == std::vector<bool>{true, false});
    CHECK(j->stats().last_seq == 3);

    // Pending in the queue: both appends are queued before either is durable.
    std::promise<AppendResult> p1, p2;
    j->append({make_event("d")}, [&](AppendResult x) { p1.set_value(std::move(x)); });
    j->append({make_event("d")}, [&](AppendResult x) { p2.set_value(std::move(x)); });
    auto r1 = p1.get_future().get();
    auto r2 = p2.get_future().get();
    CHECK(r1.duplicate == std::vector<bool>{false});
    CHECK(r2.duplicate == std::vector<bool>{true});
    CHECK(j->stats().last_seq == 4);
  }
  // After reopen the index is rebuilt from the segments.
  auto j = open_journal(options);
  auto r = append_sync(*j, {make_event("a"), make_event("e"), make_event("d")});
  REQUIRE(r.code == AppendResult::Code::ok);
  CHECK(r.duplicate == std::vector<bool>{true, false, true});
  CHECK(j->stats().last_seq == 5);
  CHECK(j->lookup("e")->seq == 5);
  CHECK(j->lookup("a")->seq == 1);
}

TEST_CASE("reopen keeps every record and continues the seqs", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("x", 1, 10)).code == AppendResult::Code::ok);
  }
  {
    auto j = open_journal(options);
    CHECK(j->stats().first_seq == 1);
    CHECK(j->stats().last_seq == 10);
    REQUIRE(append_sync(*j, make_events("x", 11, 5)).code == AppendResult::Code::ok);
    CHECK(j->stats().last_seq == 15);
    j->close();
    j->close();  // idempotent
    std::promise<AppendResult> p;
    j->append({make_event("late")}, [&](AppendResult r) { p.set_value(std::move(r)); });
    CHECK(p.get_future().get().code == AppendResult::Code::failed);
  }
  auto j = open_journal(options);
  auto seqs = all_seqs(*j);
  REQUIRE(seqs.size() == 15);
  for (std::size_t i = 0; i < seqs.size(); ++i)
    CHECK(seqs[i] == i + 1);
  CHECK(j->lookup("x15")->seq == 15);
}

TEST_CASE("a second open of the same directory is refused", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  auto j = open_journal(options);
  auto again = hookd::open_file_journal(options);
  CHECK_FALSE(again.ok());
}

TEST_CASE("a torn last record is truncated on open", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("t", 1, 5)).code == AppendResult::Code::ok);
  }
  const auto file = segment_files(options.dir).at(0);
  const auto offsets = record_offsets(file);
  REQUIRE(offsets.size() == 5);
  const auto full_size = fs::file_size(file);
  fs::resize_file(file, full_size - 20);  // cut mid-record

  auto j = open_journal(options);
  CHECK(fs::file_size(file) == offsets[4]);
  CHECK(j->stats().last_seq == 4);
  CHECK(all_seqs(*j) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(j->lookup("t4"));
  CHECK_FALSE(j->lookup("t5"));
  auto r = append_sync(*j, make_events("t", 5, 2));
  REQUIRE(r.code == AppendResult::Code::ok);
  CHECK(r.duplicate == std::vector<bool>{false, false});
  CHECK(all_seqs(*j) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(j->lookup("t6")->seq == 6);
}

TEST_CASE("a torn header of a few bytes is truncated", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("h", 1, 2)).code == AppendResult::Code::ok);
  }
  const auto file = segment_files(options.dir).at(0);
  const auto size = fs::file_size(file);
  {
    std::string data = hookd::test::read_file(file);
    data += std::string(5, '\0');  // a zero-filled tail, as after a crash
    hookd::test::write_file(file, data);
  }
  auto j = open_journal(options);
  CHECK(fs::file_size(file) == size);
  CHECK(j->stats().last_seq == 2);
}

TEST_CASE("a flipped byte in the last record drops it", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("f", 1, 5)).code == AppendResult::Code::ok);
  }
  const auto file = segment_files(options.dir).at(0);
  const auto offsets = record_offsets(file);
  flip_byte(file, offsets[4] + 40);

  auto j = open_journal(options);
  CHECK(j->stats().last_seq == 4);
  CHECK(fs::file_size(file) == offsets[4]);
  CHECK_FALSE(j->lookup("f5"));
  REQUIRE(append_sync(*j, {make_event("f5")}).code == AppendResult::Code::ok);
  CHECK(j->lookup("f5")->seq == 5);
}

TEST_CASE("a flipped byte mid last segment keeps a copy of what is cut", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("m", 1, 5)).code == AppendResult::Code::ok);
  }
  const auto file = segment_files(options.dir).at(0);
  const auto offsets = record_offsets(file);
  flip_byte(file, offsets[2] + 30);  // inside record 3's payload
  const auto size = fs::file_size(file);

  auto j = open_journal(options);
  CHECK(all_seqs(*j) == std::vector<std::uint64_t>{1, 2});
  auto copy = file;
  copy += "." + std::to_string(offsets[2]) + ".corrupt";
  REQUIRE(fs::exists(copy));
  CHECK(fs::file_size(copy) == size - offsets[2]);
}

TEST_CASE("a flipped byte in an older segment loses only the rest of that segment", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  options.segment_bytes = 1000;  // ~4 records of ~250 bytes each
  {
    auto j = open_journal(options);
    for (int i = 1; i <= 20; ++i) {
      REQUIRE(append_sync(*j, {make_event("o" + std::to_string(i), 200)}).code ==
              AppendResult::Code::ok);
    }
  }
  auto files = segment_files(options.dir);
  REQUIRE(files.size() >= 3);
  const auto first = files[0];
  const auto offsets = record_offsets(first);
  REQUIRE(offsets.size() >= 3);
  const std::uint64_t per_segment = offsets.size();
  flip_byte(first, offsets[1] + 50);  // record 2

  auto j = open_journal(options);
  auto seqs = all_seqs(*j);
  std::vector<std::uint64_t> want{1};
  for (std::uint64_t s = per_segment + 1; s <= 20; ++s)
    want.push_back(s);
  CHECK(seqs == want);
  CHECK(j->lookup("o1"));
  CHECK_FALSE(j->lookup("o2"));
  CHECK(j->lookup("o20")->seq == 20);
  // Reading across the gap skips to the next segment.
  auto r = j->read(1, 1);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].seq == per_segment + 1);
  // The damaged segment is left alone, and the seqs go on.
  CHECK(fs::exists(first));
  REQUIRE(append_sync(*j, {make_event("o21", 200)}).code == AppendResult::Code::ok);
  CHECK(j->lookup("o21")->seq == 21);
}

TEST_CASE("segments roll at segment_bytes", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  options.segment_bytes = 1000;
  auto j = open_journal(options);
  REQUIRE(append_sync(*j, make_events("r", 1, 12, 200)).code == AppendResult::Code::ok);
  REQUIRE(append_sync(*j, make_events("r", 13, 8, 200)).code == AppendResult::Code::ok);
  auto files = segment_files(options.dir);
  CHECK(files.size() >= 4);
  CHECK(j->stats().segments == files.size());
  CHECK(files[0].filename() == "00000000000000000001.seg");
  std::uint64_t total = 0;
  for (const auto& f : files) {
    CHECK(fs::file_size(f) <= 1000);
    total += fs::file_size(f);
  }
  CHECK(j->stats().bytes == total);
  // Each file is named after its first seq.
  for (const auto& f : files) {
    const auto first = std::stoull(f.stem().string());
    auto r = j->read(first - 1, 1);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);
    CHECK((*r)[0].seq == first);
  }
  CHECK(all_seqs(*j).size() == 20);
  j->close();
  auto again = open_journal(options);
  CHECK(all_seqs(*again).size() == 20);
  CHECK(again->lookup("r7")->seq == 7);
}

TEST_CASE("segments are deleted once every cursor has passed them", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  options.segment_bytes = 1000;
  auto j = open_journal(options);
  CHECK(j->register_consumer("hooks") == 0);
  CHECK(j->register_consumer("endpoint:siem-1.example") == 0);
  REQUIRE(append_sync(*j, make_events("d", 1, 20, 200)).code == AppendResult::Code::ok);
  const auto before = segment_files(options.dir).size();
  REQUIRE(before >= 4);

  j->commit("hooks", 20);
  j->commit("endpoint:siem-1.example", 5);
  CHECK(j->cursor("hooks") == 20);
  // Only the segments wholly at or below seq 5 may go.
  REQUIRE(hookd::test::wait_until([&] { return j->stats().first_seq > 1; }));
  auto stats = j->stats();
  CHECK(stats.first_seq <= 6);
  CHECK(stats.segments == segment_files(options.dir).size());
  CHECK(stats.segments < before);
  CHECK_FALSE(j->lookup("d1"));
  CHECK(j->lookup("d6"));
  auto r = j->read(0, 1);  // before the first retained: starts there
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  CHECK((*r)[0].seq == stats.first_seq);

  // Once everyone is done, all sealed segments go; the active one stays.
  j->commit("endpoint:siem-1.example", 20);
  REQUIRE(hookd::test::wait_until([&] { return j->stats().segments == 1; }));
  // The files go just after the catalog lets go of them, outside its lock.
  CHECK(hookd::test::wait_until([&] { return segment_files(options.dir).size() == 1; }));
  CHECK(j->stats().last_seq == 20);
  // A deleted id is no longer a duplicate.
  auto again = append_sync(*j, {make_event("d1", 200)});
  CHECK(again.duplicate == std::vector<bool>{false});
  CHECK(j->lookup("d1")->seq == 21);
}

TEST_CASE("cursors are persisted and survive reopen", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  const std::string name = "endpoint:siem-1.example/x y\"z";
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("c", 1, 5)).code == AppendResult::Code::ok);
    CHECK(j->register_consumer(name) == 5);  // new consumers start at the newest event
    CHECK(j->register_consumer("hooks") == 5);
    j->commit(name, 3);  // going backwards is ignored
    CHECK(j->cursor(name) == 5);
    REQUIRE(append_sync(*j, make_events("c", 6, 3)).code == AppendResult::Code::ok);
    j->commit(name, 7);
    j->commit(name, 100);  // clamped to the newest durable seq
    CHECK(j->cursor(name) == 8);
    j->commit("hooks", 6);
    CHECK(j->cursor("nobody") == 0);
    // Persisted in the background, without waiting for close().
    REQUIRE(hookd::test::wait_until([&] {
      return hookd::test::read_file(options.dir / "cursors.json").find("\"hooks\":6") !=
             std::string::npos;
    }));
    j->commit("hooks", 7);  // only in memory until close()
  }
  auto j = open_journal(options);
  CHECK(j->cursor(name) == 8);
  CHECK(j->cursor("hooks") == 7);
  CHECK(j->register_consumer(name) == 8);
  CHECK(j->register_consumer("hooks") == 7);
}

TEST_CASE("full and busy reject without appending", "[journal]") {
  TempDir tmp;

  SECTION("full while a consumer holds the data, then room again") {
    auto options = options_for(tmp.path());
    options.max_bytes = 4000;
    auto j = open_journal(options);
    j->register_consumer("slow");
    AppendResult r;
    int appended = 0;
    for (int i = 0; i < 100; ++i) {
      r = append_sync(*j, {make_event("full" + std::to_string(i), 300)});
      if (r.code != AppendResult::Code::ok) break;
      ++appended;
    }
    REQUIRE(r.code == AppendResult::Code::full);
    CHECK(r.duplicate == std::vector<bool>{false});
    CHECK(j->stats().last_seq == static_cast<std::uint64_t>(appended));
    CHECK(j->stats().bytes >= options.max_bytes);
    CHECK(j->stats().writable);

    j->commit("slow", j->stats().last_seq);
    REQUIRE(hookd::test::wait_until([&] { return j->stats().bytes < options.max_bytes; }));
    CHECK(append_sync(*j, {make_event("after", 300)}).code == AppendResult::Code::ok);
  }

  SECTION("without consumers, old segments make room and appends never fail") {
    auto options = options_for(tmp.path());
    options.max_bytes = 4000;
    auto j = open_journal(options);
    for (int i = 0; i < 100; ++i) {
      REQUIRE(append_sync(*j, {make_event("keep" + std::to_string(i), 300)}).code ==
              AppendResult::Code::ok);
    }
    CHECK(j->stats().bytes <= options.max_bytes);
    CHECK(j->stats().last_seq == 100);
    CHECK(j->stats().first_seq > 1);
    CHECK(j->lookup("keep99"));
  }

  SECTION("busy while too many bytes wait for the disk") {
    auto options = options_for(tmp.path());
    options.max_pending_bytes = 1;
    auto j = open_journal(options);
    // Hold the journal thread inside the first callback, so the next append
    // stays pending while the third arrives.
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> entered;
    j->append({make_event("b1")}, [&, released](AppendResult) {
      entered.set_value();
      released.wait();
    });
    entered.get_future().wait();
    std::promise<AppendResult> p2;
    j->append({make_event("b2")}, [&](AppendResult r) { p2.set_value(std::move(r)); });
    CHECK(j->stats().pending_bytes > 0);
    AppendResult r3;
    bool called = false;
    j->append({make_event("b3")}, [&](AppendResult r) {
      r3 = std::move(r);
      called = true;
    });
    CHECK(called);  // rejected inline
    CHECK(r3.code == AppendResult::Code::busy);
    release.set_value();
    CHECK(p2.get_future().get().code == AppendResult::Code::ok);
    CHECK(j->stats().pending_bytes == 0);
    CHECK_FALSE(j->lookup("b3"));
    CHECK(append_sync(*j, {make_event("b3")}).code == AppendResult::Code::ok);
  }
}

TEST_CASE("every fsync mode appends, reads back and recovers", "[journal]") {
  for (FsyncMode mode : {FsyncMode::batch, FsyncMode::always, FsyncMode::off}) {
    INFO("mode " << static_cast<int>(mode));
    TempDir tmp;
    auto options = options_for(tmp.path());
    options.fsync = mode;
    options.segment_bytes = 4000;
    std::uint64_t durable_seen = 0;
    {
      std::atomic<std::uint64_t> last{0};
      std::atomic<int> done{0};
      auto j = open_journal(options);
      j->on_durable([&](std::uint64_t seq) { last = seq; });
      for (int i = 0; i < 20; ++i) {
        j->append(make_events("m" + std::to_string(i) + "_", 0, 3), [&](AppendResult r) {
          if (r.code == AppendResult::Code::ok) ++done;
        });
      }
      REQUIRE(hookd::test::wait_until([&] { return done == 20; }));
      REQUIRE(hookd::test::wait_until([&] { return last == 60; }));
      durable_seen = last;
      CHECK(j->stats().last_seq == 60);
      CHECK(all_seqs(*j).size() == 60);
    }
    CHECK(durable_seen == 60);
    auto j = open_journal(options);
    CHECK(j->stats().last_seq == 60);
    CHECK(j->lookup("m19_2")->seq == 60);
  }
}

TEST_CASE("close() completes pending appends", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  std::atomic<int> ok{0};
  {
    auto j = open_journal(options);
    for (int i = 0; i < 50; ++i) {
      j->append({make_event("p" + std::to_string(i))}, [&](AppendResult r) {
        if (r.code == AppendResult::Code::ok) ++ok;
      });
    }
    j->close();
    CHECK(ok == 50);
  }
  auto j = open_journal(options);
  CHECK(j->stats().last_seq == 50);
}

TEST_CASE("concurrent appends from 4 threads get dense unique seqs", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  options.segment_bytes = 16 * 1024;
  constexpr int kThreads = 4, kCalls = 100;
  std::atomic<int> callbacks{0}, ok_events{0};
  auto j = open_journal(options);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kCalls; ++c) {
        const int n = 1 + c % 3;
        auto events = make_events("t" + std::to_string(t) + "_" + std::to_string(c) + "_", 0, n);
        if (c % 2 == 0) {
          j->append(std::move(events), [&, n](AppendResult r) {
            if (r.code == AppendResult::Code::ok) ok_events += n;
            ++callbacks;
          });
        } else {
          auto r = append_sync(*j, std::move(events));
          if (r.code == AppendResult::Code::ok) ok_events += n;
          ++callbacks;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(hookd::test::wait_until([&] { return callbacks == kThreads * kCalls; }));
  const int expected = kThreads * (kCalls / 3 * 6 + 1);  // n cycles 1,2,3 over 100 calls
  CHECK(ok_events == expected);
  auto all = j->read(0, 1000000);
  REQUIRE(all.ok());
  REQUIRE(all->size() == static_cast<std::size_t>(expected));
  std::set<std::string> ids;
  for (std::size_t i = 0; i < all->size(); ++i) {
    CHECK((*all)[i].seq == i + 1);
    ids.insert((*all)[i].event.id);
  }
  CHECK(ids.size() == all->size());
}

TEST_CASE("records acknowledged before kill -9 survive", "[journal][crash]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  options.segment_bytes = 64 * 1024;  // crash across segment rolls too
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto opened = hookd::open_file_journal(options);
    if (!opened) _exit(3);
    auto& j = *opened.value();
    std::atomic<int> acked{0};
    std::mutex out_mu;
    // Appends keep flowing while the process dies: some are acked, some are
    // in the middle of a write or fsync.
    for (int i = 0; i < 100000; ++i) {
      auto events = make_events("k" + std::to_string(i) + "_", 0, 1 + i % 4, 300);
      std::vector<std::string> ids;
      for (const auto& e : events)
        ids.push_back(e.id);
      j.append(std::move(events), [&, ids](AppendResult r) {
        if (r.code != AppendResult::Code::ok) return;
        std::lock_guard lock(out_mu);
        for (const auto& id : ids) {
          const std::string line = id + "\n";
          if (::write(fds[1], line.data(), line.size()) < 0) _exit(4);
        }
        if (++acked == 300) ::kill(::getpid(), SIGKILL);
      });
      if (i % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::seconds(30));
    _exit(5);
  }
  ::close(fds[1]);
  std::string acked_text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    acked_text.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);

  std::vector<std::string> acked;
  std::size_t start = 0;
  for (std::size_t nl; (nl = acked_text.find('\n', start)) != std::string::npos; start = nl + 1) {
    acked.push_back(acked_text.substr(start, nl - start));
  }
  REQUIRE(acked.size() >= 300);

  auto j = open_journal(options);
  for (const auto& id : acked) {
    INFO(id);
    REQUIRE(j->lookup(id));
  }
  auto all = j->read(0, 10000000);
  REQUIRE(all.ok());
  REQUIRE(all->size() >= acked.size());
  for (std::size_t i = 0; i < all->size(); ++i)
    REQUIRE((*all)[i].seq == i + 1);
  const auto last = j->stats().last_seq;
  REQUIRE(append_sync(*j, {make_event("after-crash")}).code == AppendResult::Code::ok);
  CHECK(j->lookup("after-crash")->seq == last + 1);
}

TEST_CASE("an I/O error fails the append and marks the journal unwritable", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  // The file size limit makes write() fail with EFBIG; in a child, so the
  // limit does not touch this process.
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {
      8192, 8192
    };
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(10);
    auto opened = hookd::open_file_journal(options);
    if (!opened) _exit(11);
    auto& j = *opened.value();
    AppendResult r;
    int i = 0;
    for (; i < 100; ++i) {
      r = append_sync(j, {make_event("io" + std::to_string(i), 1000)});
      if (r.code != AppendResult::Code::ok) break;
    }
    if (r.code != AppendResult::Code::failed) _exit(12);
    if (j.stats().writable) _exit(13);
    // Later appends are refused at once; what was acked is still readable.
    if (append_sync(j, {make_event("again")}).code != AppendResult::Code::failed) _exit(14);
    if (!j.lookup("io0")) _exit(15);
    if (j.stats().last_seq != static_cast<std::uint64_t>(i)) _exit(16);
    j.close();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // The failed batch was cut off: a reopen finds exactly the acked records.
  auto j = open_journal(options);
  const auto last = j->stats().last_seq;
  CHECK(last >= 1);
  CHECK(j->lookup("io" + std::to_string(last - 1)));
  CHECK_FALSE(j->lookup("io" + std::to_string(last)));
}

TEST_CASE("a persisted cursor past the recovered records is pulled back", "[journal]") {
  TempDir tmp;
  auto options = options_for(tmp.path());
  {
    auto j = open_journal(options);
    REQUIRE(append_sync(*j, make_events("z", 1, 3)).code == AppendResult::Code::ok);
  }
  hookd::test::write_file(options.dir / "cursors.json",
                          "{\"version\":1,\"consumers\":{\"hooks\":50,\"siem\":2}}");
  auto j = open_journal(options);
  CHECK(j->cursor("hooks") == 3);
  CHECK(j->cursor("siem") == 2);
}
