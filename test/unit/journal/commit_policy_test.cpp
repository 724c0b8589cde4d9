// The group commit's decisions as tables: whether an append waits for the
// disk or is answered at once, and how long the journal thread lingers.
#include "hookd/journal/commit_policy.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <vector>

using hookd::AppendResult;
using hookd::FsyncMode;
using hookd::journal_detail::answer_at_once;
using hookd::journal_detail::AppendGate;
using hookd::journal_detail::group_commit_linger;
using namespace std::chrono_literals;

TEST_CASE("an append is queued unless closed, unwritable, full or busy", "[journal][policy]") {
  AppendGate open;
  open.journal_bytes = 100;
  open.max_bytes = 1000;
  open.pending_bytes = 0;
  open.max_pending_bytes = 50;
  auto with = [&](auto change) {
    AppendGate g = open;
    change(g);
    return g;
  };
  using Code = AppendResult::Code;
  struct Case {
    const char* name;
    std::size_t events;
    std::uint64_t bytes;
    AppendGate gate;
    std::optional<Code> answer;  // nullopt: queued
  };
  const std::vector<Case> cases{
      {"room for it", 2, 40, open, std::nullopt},
      {"no events: ok at once", 0, 0, with([](AppendGate& g) { g.closing = true; }), Code::ok},
      {"closing", 1, 10, with([](AppendGate& g) { g.closing = true; }), Code::failed},
      {"not writable", 1, 10, with([](AppendGate& g) { g.writable = false; }), Code::failed},
      {"closed beats full", 1, 10, with([](AppendGate& g) {
         g.closing = true;
         g.journal_bytes = 5000;
       }),
       Code::failed},
      {"at max_bytes", 1, 10, with([](AppendGate& g) { g.journal_bytes = 1000; }), Code::full},
      {"just under max_bytes", 1, 10, with([](AppendGate& g) { g.journal_bytes = 999; }),
       std::nullopt},
      {"too much pending", 1, 11, with([](AppendGate& g) { g.pending_bytes = 40; }), Code::busy},
      {"pending exactly at the limit", 1, 10, with([](AppendGate& g) { g.pending_bytes = 40; }),
       std::nullopt},
      {"nothing pending: one big append still goes", 1, 500, open, std::nullopt},
      {"full beats busy", 1, 500, with([](AppendGate& g) {
         g.journal_bytes = 1000;
         g.pending_bytes = 40;
       }),
       Code::full},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const auto answer = answer_at_once(c.events, c.bytes, c.gate);
    REQUIRE(answer.has_value() == c.answer.has_value());
    if (!answer) continue;
    CHECK(answer->code == *c.answer);
    CHECK(answer->duplicate == std::vector<bool>(c.events, false));
    CHECK(answer->message.empty() == (*c.answer == Code::ok));
  }
}

TEST_CASE("the journal thread lingers only for the returning herd", "[journal][policy]") {
  using duration = std::chrono::steady_clock::duration;
  struct Case {
    const char* name;
    FsyncMode mode;
    std::chrono::microseconds window;
    std::size_t last_calls, queued;
    duration last_fsync;
    bool closing;
    duration want;
  };
  const std::vector<Case> cases{
      {"herd returning, fsync shorter than the window", FsyncMode::batch, 2000us, 4, 1, 500us,
       false, 500us},
      {"herd returning, fsync longer than the window", FsyncMode::batch, 2000us, 8, 3, 9ms, false,
       2000us},
      {"a steady stream: half the last batch is queued", FsyncMode::batch, 2000us, 8, 4, 500us,
       false, 0us},
      {"a steady stream: most of the last batch is queued", FsyncMode::batch, 2000us, 4, 3, 500us,
       false, 0us},
      {"the whole herd is back", FsyncMode::batch, 2000us, 4, 4, 500us, false, 0us},
      {"more than the herd", FsyncMode::batch, 2000us, 4, 6, 500us, false, 0us},
      {"last batch was one call", FsyncMode::batch, 2000us, 1, 1, 500us, false, 0us},
      {"first batch", FsyncMode::batch, 2000us, 0, 1, 0us, false, 0us},
      {"window zero", FsyncMode::batch, 0us, 4, 1, 500us, false, 0us},
      {"closing", FsyncMode::batch, 2000us, 4, 1, 500us, true, 0us},
      {"fsync always", FsyncMode::always, 2000us, 4, 1, 500us, false, 0us},
      {"fsync off", FsyncMode::off, 2000us, 4, 1, 500us, false, 0us},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(group_commit_linger(c.mode, c.window, c.last_calls, c.queued, c.last_fsync, c.closing) ==
          c.want);
  }
}
