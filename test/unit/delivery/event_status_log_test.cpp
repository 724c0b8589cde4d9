// EventStatusLog: what GET /v1/events/{id} shows for one endpoint, bounded
// in events and in attempts per event.
#include <catch2/catch.hpp>
#include <string>

#include "hookd/delivery/event_status_log.h"

using hookd::AttemptRecord;
using hookd::DeliveryState;
using hookd::EventStatusLog;

TEST_CASE("event status: states and attempts as JSON") {
  EventStatusLog log(10, 3);
  CHECK_FALSE(log.contains("evt_1"));
  CHECK(log.status_json("evt_1", DeliveryState::delivered) ==
        R"({"state":"delivered","attempts":[]})");  // no record: the caller's state

  log.set_state("evt_1", DeliveryState::pending);
  CHECK(log.contains("evt_1"));
  log.add_attempt("evt_1", AttemptRecord{1795515302123, 0, "connect: refused", 3});
  log.add_attempt("evt_1", AttemptRecord{1795515307123, 503, "", 12});
  CHECK(
      log.status_json("evt_1", DeliveryState::delivered) ==
      R"({"state":"pending","attempts":[)"
      R"({"at":"2026-11-24T10:15:02.123Z","status":null,"error":"connect: refused","duration_ms":3},)"
      R"({"at":"2026-11-24T10:15:07.123Z","status":503,"error":null,"duration_ms":12}]})");

  for (auto [state, name] : {std::pair{DeliveryState::pending, "pending"},
                             std::pair{DeliveryState::delivered, "delivered"},
                             std::pair{DeliveryState::dead_letter, "dead_letter"},
                             std::pair{DeliveryState::filtered, "filtered"}}) {
    CHECK(hookd::state_name(state) == name);
    log.set_state("evt_2", state);
    CHECK(log.status_json("evt_2", DeliveryState::pending) ==
          std::string(R"({"state":")") + name + R"(","attempts":[]})");
  }
}

TEST_CASE("event status: the most recent attempts of the most recent events") {
  EventStatusLog log(3, 2);
  for (int i = 1; i <= 4; ++i)
    log.add_attempt("evt_a", AttemptRecord{i * 1000, 500 + i, "", i});
  const std::string a = log.status_json("evt_a", DeliveryState::pending);
  CHECK(a.find("\"status\":501") == std::string::npos);
  CHECK(a.find("\"status\":502") == std::string::npos);
  CHECK(a.find("\"status\":503") != std::string::npos);
  CHECK(a.find("\"status\":504") != std::string::npos);

  log.set_state("evt_b", DeliveryState::delivered);
  log.set_state("evt_c", DeliveryState::delivered);
  log.set_state("evt_a", DeliveryState::delivered);  // an update does not make it newer
  log.set_state("evt_d", DeliveryState::delivered);  // the fourth: the oldest goes
  CHECK_FALSE(log.contains("evt_a"));
  CHECK(log.contains("evt_b"));
  CHECK(log.contains("evt_c"));
  CHECK(log.contains("evt_d"));

  EventStatusLog tiny(0, 0);  // at least one event with one attempt
  tiny.add_attempt("x", AttemptRecord{1000, 500, "", 1});
  tiny.add_attempt("x", AttemptRecord{2000, 502, "", 1});
  CHECK(tiny.status_json("x", DeliveryState::pending).find("\"status\":502") != std::string::npos);
  CHECK(tiny.status_json("x", DeliveryState::pending).find("\"status\":500") == std::string::npos);
  tiny.set_state("y", DeliveryState::filtered);
  CHECK_FALSE(tiny.contains("x"));
  CHECK(tiny.contains("y"));
}
