// The hooks consumer's window: the cursor passes an event only once it and
// every event before it are done, whatever order the runs finish in.
#include "hookd/hooks/run_window.h"

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

using hookd::RunWindow;
using State = RunWindow::State;

namespace {

RunWindow window_of(const std::vector<std::uint64_t>& seqs) {
  RunWindow window;
  for (auto seq : seqs) {
    hookd::Event event;
    event.id = "evt_" + std::to_string(seq);
    window.push(seq, event);
  }
  return window;
}

}  // namespace

TEST_CASE("the cursor passes only a done prefix of the window", "[run_window]") {
  struct Case {
    std::vector<State> states;  // of seqs 3, 5, 8, 9 (gaps: other consumers' or skipped)
    std::optional<std::uint64_t> cursor;
    std::size_t left;
  };
  // clang-format off
  const std::vector<Case> cases = {
    {{State::done,    State::done,        State::done,    State::done},    9,            0},
    {{State::done,    State::done,        State::running, State::done},    5,            2},
    {{State::running, State::done,        State::done,    State::done},    std::nullopt, 4},
    {{State::done,    State::cleaning,    State::done,    State::done},    3,            3},
    {{State::done,    State::interrupted, State::done,    State::done},    3,            3},
    {{State::waiting, State::waiting,     State::waiting, State::waiting}, std::nullopt, 4},
  };
  // clang-format on
  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto window = window_of({3, 5, 8, 9});
    for (std::size_t k = 0; k < 4; ++k) {
      auto* entry = window.next_waiting();
      REQUIRE(entry != nullptr);
      entry->state = cases[i].states[k];
    }
    CHECK(window.pop_done() == cases[i].cursor);
    CHECK(window.size() == cases[i].left);
    CHECK(window.waiting() == 0);
    // Nothing more is done: a second commit moves nothing.
    CHECK(window.pop_done() == std::nullopt);
  }
}

TEST_CASE("waiting entries are handed out once, in journal order", "[run_window]") {
  auto window = window_of({1, 2, 4});
  CHECK(window.waiting() == 3);
  CHECK(window.next_waiting()->event.id == "evt_1");
  CHECK(window.next_waiting()->event.id == "evt_2");
  CHECK(window.waiting() == 1);
  window.find(1)->state = State::done;
  CHECK(window.pop_done() == 1u);
  // Popping the front keeps the waiting count right.
  CHECK(window.waiting() == 1);
  CHECK(window.next_waiting()->seq == 4u);
  CHECK(window.next_waiting() == nullptr);
  window.push(7, hookd::Event{});
  CHECK(window.next_waiting()->seq == 7u);
}

TEST_CASE("entries are found by seq", "[run_window]") {
  auto window = window_of({2, 3, 10});
  CHECK(window.find(3)->event.id == "evt_3");
  CHECK(window.find(10)->event.id == "evt_10");
  CHECK(window.find(1) == nullptr);
  CHECK(window.find(4) == nullptr);
  CHECK(window.find(11) == nullptr);
}
