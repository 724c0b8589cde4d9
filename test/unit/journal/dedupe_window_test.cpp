// The dedupe window: which ids stay indexed as time passes and segments go,
// and the open-addressing id index under churn, against a plain multimap.
#include "hookd/journal/dedupe_window.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "hookd/journal/id_index.h"

using hookd::journal_detail::DedupeWindow;
using hookd::journal_detail::IdIndex;
using namespace std::chrono_literals;

namespace {

// Seqs still indexed among [from, to], looked up by their hash (seq * 7919 + 1).
std::vector<std::uint64_t> indexed(const DedupeWindow& window, std::uint64_t from,
                                   std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t seq = from; seq <= to; ++seq) {
    for (auto candidate : window.candidates(seq * 7919 + 1)) {
      if (candidate == seq) out.push_back(seq);
    }
  }
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (auto seq = from; seq <= to; ++seq)
    out.push_back(seq);
  return out;
}

void add(DedupeWindow& window, std::uint64_t seq, std::int64_t at_ms) {
  window.add(seq * 7919 + 1, seq, at_ms);
}

}  // namespace

TEST_CASE("ids older than the window are forgotten, oldest first", "[journal][dedupe]") {
  // Window 10 s: one mark per 9 ms of arrivals.
  DedupeWindow window(10s);
  add(window, 1, 1'000);
  add(window, 2, 1'004);  // same mark as seq 1
  add(window, 3, 5'000);
  add(window, 4, 12'000);
  struct Case {
    const char* name;
    std::int64_t now_ms;
    std::vector<std::uint64_t> left;
  };
  // Applied in order: expiry only ever moves forward.
  const std::vector<Case> cases{
      {"all within the window", 10'999, {1, 2, 3, 4}},
      {"seq 1 is old but shares a mark with seq 2", 11'002, {1, 2, 3, 4}},
      {"the mark's newest is past the window", 11'005, {3, 4}},
      {"the clock stands still", 11'005, {3, 4}},
      {"seq 3 expires", 15'001, {4}},
      {"then everything", 22'001, {}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    window.expire(c.now_ms, 1000);
    CHECK(indexed(window, 1, 4) == c.left);
    CHECK(window.size() == c.left.size());
  }
  // New records after an empty window are indexed again.
  add(window, 5, 30'000);
  CHECK(indexed(window, 1, 5) == std::vector<std::uint64_t>{5});
}

TEST_CASE("expiry goes in chunks of at most max", "[journal][dedupe]") {
  DedupeWindow window(1s);
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    add(window, seq, 0);
  CHECK(window.expire(5'000, 4) == 4);
  CHECK(indexed(window, 1, 10) == range(5, 10));
  CHECK(window.expire(5'000, 4) == 4);
  CHECK(window.expire(5'000, 4) == 2);
  CHECK(window.expire(5'000, 4) == 0);
  CHECK(window.size() == 0);
}

TEST_CASE("a window of zero never expires, retention still forgets", "[journal][dedupe]") {
  DedupeWindow window(0ms);
  for (std::uint64_t seq = 1; seq <= 6; ++seq)
    add(window, seq, 0);
  CHECK(window.expire(1'000'000'000, 100) == 0);
  CHECK(window.forget_through(4, 100) == 4);
  CHECK(indexed(window, 1, 6) == std::vector<std::uint64_t>{5, 6});
}

TEST_CASE("deleted segments take their ids along, marks follow", "[journal][dedupe]") {
  DedupeWindow window(10s);
  for (std::uint64_t seq = 1; seq <= 10; ++seq)
    add(window, seq, static_cast<std::int64_t>(seq) * 1'000);  // a mark each
  CHECK(window.forget_through(3, 2) == 2);                     // chunked
  CHECK(window.forget_through(3, 100) == 1);
  CHECK(window.forget_through(3, 100) == 0);
  CHECK(indexed(window, 1, 10) == range(4, 10));
  // seq 4 arrived at 4 s, seq 5 at 5 s: at 14.5 s only seq 4 is past.
  window.expire(14'500, 100);
  CHECK(indexed(window, 1, 10) == range(5, 10));
  window.forget_through(100, 100);
  CHECK(window.size() == 0);
  add(window, 11, 30'000);
  CHECK(indexed(window, 1, 11) == std::vector<std::uint64_t>{11});
  window.expire(39'000, 100);
  CHECK(window.size() == 1);
  window.expire(40'001, 100);
  CHECK(window.size() == 0);
}

TEST_CASE("skipped seqs hold places but index nothing", "[journal][dedupe]") {
  DedupeWindow window(10s);
  add(window, 1, 0);
  add(window, 5, 0);  // 2..4 were corrupt
  add(window, 3, 0);  // older than the newest: ignored
  CHECK(indexed(window, 1, 5) == std::vector<std::uint64_t>{1, 5});
  CHECK(window.size() == 2);
  CHECK(window.forget_through(3, 100) == 3);  // seq 1 and the places of 2 and 3
  CHECK(indexed(window, 1, 5) == std::vector<std::uint64_t>{5});
}

TEST_CASE("a clock that steps back counts as no time passing", "[journal][dedupe]") {
  DedupeWindow window(10s);
  add(window, 1, 50'000);
  add(window, 2, 20'000);  // stepped back: treated as 50 s
  window.expire(59'999, 100);
  CHECK(window.size() == 2);
  window.expire(60'001, 100);
  CHECK(window.size() == 0);
}

TEST_CASE("under a steady churn of fresh ids the index stops growing", "[journal][dedupe]") {
  // 1,000 ids a second, a 10 s window: 10,000 indexed once it is full.
  DedupeWindow window(10s);
  std::uint64_t seq = 0;
  std::size_t capacity_when_full = 0;
  for (std::int64_t ms = 0; ms < 120'000; ++ms) {
    add(window, ++seq, ms);
    window.expire(ms, 4096);
    if (ms == 20'000) capacity_when_full = window.index().capacity();
    if (ms > 20'000) {
      REQUIRE(window.size() <= 10'011);
      REQUIRE(window.index().capacity() == capacity_when_full);
    }
  }
  CHECK(window.size() >= 10'000);
  CHECK(capacity_when_full <= 32'768);  // 16 bytes a slot, at most 3/4 full
}

TEST_CASE("the id index agrees with a multimap under random adds and removes", "[journal][index]") {
  std::mt19937_64 rng(42);
  IdIndex index;
  std::multimap<std::uint64_t, std::uint64_t> reference;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> present;
  std::uint64_t next_seq = 1;
  for (int step = 0; step < 200'000; ++step) {
    // Few distinct hashes, so probe runs collide and wrap around.
    const std::uint64_t hash = rng() % 5'000;
    const bool grow = step < 100'000 ? rng() % 3 != 0 : rng() % 3 == 0;
    if (grow || present.empty()) {
      index.add(hash, next_seq);
      reference.emplace(hash, next_seq);
      present.emplace_back(hash, next_seq);
      ++next_seq;
    } else {
      const std::size_t at = rng() % present.size();
      const auto [h, s] = present[at];
      index.remove(h, s);
      for (auto it = reference.lower_bound(h); it != reference.end() && it->first == h; ++it) {
        if (it->second == s) {
          reference.erase(it);
          break;
        }
      }
      present[at] = present.back();
      present.pop_back();
    }
    if (step % 997 == 0) {
      REQUIRE(index.size() == reference.size());
      const std::uint64_t probe = rng() % 5'000;
      auto got = index.candidates(probe);
      std::sort(got.begin(), got.end());
      std::vector<std::uint64_t> want;
      for (auto it = reference.lower_bound(probe); it != reference.end() && it->first == probe;
           ++it)
        want.push_back(it->second);
      std::sort(want.begin(), want.end());
      REQUIRE(got == want);
    }
  }
  // Every remaining record is found under its own hash.
  for (const auto& [h, s] : present) {
    const auto got = index.candidates(h);
    REQUIRE(std::find(got.begin(), got.end(), s) != got.end());
  }
  // Emptied, the table shrinks back.
  for (const auto& [h, s] : present)
    index.remove(h, s);
  CHECK(index.size() == 0);
  CHECK(index.capacity() <= 128);
}
