// The kill sequence of a hook's child as tables: each row is one event at a
// time (ms after the start), the step it asks for and the next deadline.
#include "hookd/hooks/kill_sequence.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <vector>

using hookd::KillSequence;
using Event = KillSequence::Event;
using namespace std::chrono_literals;

namespace {

const KillSequence::Clock::time_point t0{};

std::string describe(const KillSequence::Step& step) {
  std::string out;
  auto add = [&](const char* word) { out += (out.empty() ? "" : " ") + std::string(word); };
  if (step.signal == SIGTERM) add("SIGTERM");
  if (step.signal == SIGKILL) add("SIGKILL");
  if (step.signal != 0 && step.signal != SIGTERM && step.signal != SIGKILL) add("signal?");
  if (step.reap) add("reap");
  if (step.stop_reading) add("stop_reading");
  if (step.complete) add("complete");
  return out;
}

struct Row {
  Event event;
  int at_ms;
  std::string step;  // describe() of the expected step
  int deadline_ms;   // -1: none
};

struct Scenario {
  std::string name;
  KillSequence::Limits limits;
  std::vector<Row> rows;
  bool timed_out, cancelled;
};

const KillSequence::Limits kLimits{1000ms, 500ms, 200ms};

// clang-format off
const std::vector<Scenario> kScenarios = {
  {"exits after closing its output", kLimits, {
    {Event::started,        0, "",                      1000},
    {Event::output_closed, 10, "",                      1000},
    {Event::leader_exited, 12, "SIGKILL reap complete",   -1},
  }, false, false},
  {"exits, then its output closes within linger", kLimits, {
    {Event::started,        0, "",                      1000},
    {Event::leader_exited, 10, "",                       210},
    {Event::output_closed, 50, "SIGKILL reap complete",   -1},
  }, false, false},
  {"a descendant holds the output past linger", kLimits, {
    {Event::started,         0, "",             1000},
    {Event::leader_exited,  10, "",              210},
    {Event::deadline,      210, "SIGKILL reap",  410},
    {Event::output_closed, 220, "complete",       -1},
  }, false, false},
  {"a descendant outside the group keeps the output open", kLimits, {
    {Event::started,         0, "",             1000},
    {Event::leader_exited,  10, "",              210},
    {Event::deadline,      210, "SIGKILL reap",  410},
    {Event::deadline,      410, "stop_reading",   -1},
    {Event::output_closed, 411, "complete",       -1},
  }, false, false},
  {"a deadline that comes early does nothing", kLimits, {
    {Event::started,    0, "",        1000},
    {Event::deadline, 999, "",        1000},
    {Event::deadline, 1000, "SIGTERM", 1500},
  }, true, false},
  {"a timeout, and the child obeys SIGTERM", kLimits, {
    {Event::started,          0, "",                      1000},
    {Event::deadline,      1000, "SIGTERM",               1500},
    {Event::leader_exited, 1003, "",                      1203},
    {Event::output_closed, 1004, "SIGKILL reap complete",   -1},
  }, true, false},
  {"a timeout, and the child ignores SIGTERM", kLimits, {
    {Event::started,          0, "",                      1000},
    {Event::deadline,      1000, "SIGTERM",               1500},
    {Event::deadline,      1500, "SIGKILL",                 -1},
    {Event::leader_exited, 1501, "",                      1701},
    {Event::output_closed, 1502, "SIGKILL reap complete",   -1},
  }, true, false},
  {"a late timer still leaves the grace period whole", kLimits, {
    {Event::started,    0, "",        1000},
    {Event::deadline, 1700, "SIGTERM", 2200},
    {Event::deadline, 2200, "SIGKILL",   -1},
  }, true, false},
  {"cancel ends a run like a timeout, once", kLimits, {
    {Event::started,         0, "",                      1000},
    {Event::cancel,        100, "SIGTERM",                600},
    {Event::cancel,        150, "",                       600},
    {Event::deadline,      600, "SIGKILL",               1000},
    {Event::leader_exited, 601, "",                       801},
    {Event::output_closed, 602, "SIGKILL reap complete",   -1},
  }, false, true},
  {"cancel after the child exited does nothing", kLimits, {
    {Event::started,        0, "",                      1000},
    {Event::leader_exited,  5, "",                       205},
    {Event::cancel,         6, "",                       205},
    {Event::output_closed,  7, "SIGKILL reap complete",   -1},
    {Event::cancel,         8, "",                        -1},
  }, false, false},
  {"a cancel whose grace ends when the timeout fires", kLimits, {
    {Event::started,     0, "",        1000},
    {Event::cancel,    500, "SIGTERM", 1000},
    {Event::deadline, 1000, "SIGKILL",   -1},
  }, true, true},
  {"no grace: SIGKILL is the next step, not the same one", {1000ms, 0ms, 200ms}, {
    {Event::started,     0, "",        1000},
    {Event::deadline, 1000, "SIGTERM", 1000},
    {Event::deadline, 1000, "SIGKILL",   -1},
  }, true, false},
  {"nothing happens after completion", kLimits, {
    {Event::started,          0, "",                      1000},
    {Event::output_closed,    1, "",                      1000},
    {Event::leader_exited,    2, "SIGKILL reap complete",   -1},
    {Event::deadline,      5000, "",                        -1},
    {Event::leader_exited, 5001, "",                        -1},
    {Event::output_closed, 5002, "",                        -1},
  }, false, false},
};
// clang-format on

}  // namespace

TEST_CASE("the kill sequence, event by event", "[kill_sequence]") {
  for (const auto& scenario : kScenarios) {
    KillSequence sequence(scenario.limits);
    for (std::size_t i = 0; i < scenario.rows.size(); ++i) {
      const auto& row = scenario.rows[i];
      INFO(scenario.name << ", row " << i);
      auto step = sequence.on(row.event, t0 + std::chrono::milliseconds(row.at_ms));
      CHECK(describe(step) == row.step);
      auto deadline = sequence.deadline();
      int deadline_ms = deadline ? static_cast<int>((*deadline - t0) / 1ms) : -1;
      CHECK(deadline_ms == row.deadline_ms);
    }
    INFO(scenario.name);
    CHECK(sequence.timed_out() == scenario.timed_out);
    CHECK(sequence.cancelled() == scenario.cancelled);
  }
}

TEST_CASE("no signal is asked for after the reap", "[kill_sequence]") {
  // Every order of the three things that end a run, each at every moment.
  std::vector<Event> events = {Event::leader_exited, Event::output_closed, Event::cancel,
                               Event::deadline};
  std::sort(events.begin(), events.end());
  do {
    KillSequence sequence(kLimits);
    sequence.on(Event::started, t0);
    bool reaped = false;
    int at = 0;
    for (auto event : events) {
      at += 300;
      auto step = sequence.on(event, t0 + std::chrono::milliseconds(at));
      if (reaped) CHECK(step.signal == 0);
      reaped = reaped || step.reap;
    }
    // Deadlines until it is done, as the caller's timer would deliver them.
    for (int guard = 0; !sequence.complete() && guard < 10; ++guard) {
      auto deadline = sequence.deadline();
      if (!deadline) break;
      auto step = sequence.on(Event::deadline, *deadline);
      if (reaped) CHECK(step.signal == 0);
      reaped = reaped || step.reap;
      if (step.stop_reading) sequence.on(Event::output_closed, *deadline);
    }
    CHECK(reaped);
    CHECK(sequence.complete());
  } while (std::next_permutation(events.begin(), events.end()));
}
