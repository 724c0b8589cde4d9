// event_state: the state GET /v1/events/{id} derives from its consumers.
#include <catch2/catch.hpp>

#include "hookd/server/event_state.h"

using hookd::event_state;
using hookd::EventProgress;

TEST_CASE("event state: accepted, processing, done and failed from the consumers' reports") {
  struct Row {
    const char* what;
    EventProgress progress;
    const char* state;
  };
  const Row rows[] = {
      {"no consumer at all", {}, "done"},
      {"hook queued (runner behind), nothing else", {true, std::nullopt, {}, false}, "accepted"},
      {"first delivery not yet attempted", {false, std::nullopt, {"pending"}, false}, "accepted"},
      {"hook running", {true, "running", {}, false}, "processing"},
      {"delivery retrying after an attempt",
       {false, std::nullopt, {"pending"}, true},
       "processing"},
      {"one endpoint delivered, one pending",
       {false, std::nullopt, {"delivered", "pending"}, true},
       "processing"},
      {"hook ok, runner not yet past it", {true, "ok", {}, false}, "processing"},
      {"hook ok and delivered", {false, "ok", {"delivered"}, true}, "done"},
      {"delivered and filtered", {false, std::nullopt, {"delivered", "filtered"}, true}, "done"},
      {"only filtered out", {false, std::nullopt, {"filtered"}, false}, "done"},
      {"hook failed", {false, "failed", {"delivered"}, true}, "failed"},
      {"hook timed out while a delivery is pending",
       {true, "timeout", {"pending"}, false},
       "failed"},
      {"hook oom", {false, "oom", {}, false}, "failed"},
      {"hook could not start", {false, "spawn_error", {}, false}, "failed"},
      {"dead-lettered at one endpoint",
       {false, "ok", {"delivered", "dead_letter"}, true},
       "failed"},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    CHECK(event_state(row.progress) == row.state);
  }
}
