// hook.finished: the event journaled for each finished hook run, its id (the
// same for every run of one arrival) and its payload.
#include "hookd/hooks/hook_finished.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "hookd/core/event.h"
#include "hookd/hooks/hook_result_store.h"
#include "hookd/hooks/hoop_payload.h"

using hookd::HookResultRecord;

TEST_CASE("hook.finished ids are per arrival and valid event ids", "[hook_finished]") {
  const std::string id = hookd::hook_finished_id("evt-1", 1700000000000);
  CHECK(id.starts_with("hookfin_"));
  CHECK(id.size() == 8 + 32);
  CHECK(hookd::valid_event_id(id));
  CHECK(hookd::hook_finished_id("evt-1", 1700000000000) == id);
  CHECK(hookd::hook_finished_id("evt-1", 1700000000001) != id);
  CHECK(hookd::hook_finished_id("evt-2", 1700000000000) != id);
  // The longest event id still gives an id of the same length.
  CHECK(hookd::valid_event_id(hookd::hook_finished_id(std::string(128, 'a'), 0)));
}

TEST_CASE("hook.* events are the hooks' own", "[hook_finished]") {
  CHECK(hookd::is_hook_event("hook.finished"));
  CHECK(hookd::is_hook_event("hook.anything"));
  CHECK_FALSE(hookd::is_hook_event("hook"));
  CHECK_FALSE(hookd::is_hook_event("hooks.finished"));
  CHECK_FALSE(hookd::is_hook_event("session.open"));
}

TEST_CASE("a hook.finished payload names the run and its event", "[hook_finished]") {
  HookResultRecord record;
  record.event_id = "evt-7";
  record.arrival_unix_ms = 1700000000000;
  record.finished_unix_ms = 1700000001234;
  record.event_type = "session.close";
  record.sid = "8bfc995b";
  record.status_json =
      R"({"script":"session-close.runbook.py","commit":"abc123","outcome":"failed",)"
      R"("exit_code":3,"signal":null,"duration_ms":42,"output":"caf\u00e9\n","executor":"spawn"})";
  hookd::Event event = hookd::hook_finished_event(record, 1700000005000);
  CHECK(event.id == hookd::hook_finished_id("evt-7", 1700000000000));
  CHECK(event.type == "hook.finished");
  CHECK(event.timestamp == "2023-11-14T22:13:21.234Z");
  CHECK(event.arrival_unix_ms == 1700000005000);
  auto payload = boost::json::parse(event.payload_json).as_object();
  CHECK(payload.size() == 9);
  CHECK(payload.at("event_id") == "evt-7");
  CHECK(payload.at("event_type") == "session.close");
  CHECK(payload.at("sid") == "8bfc995b");
  CHECK(payload.at("script") == "session-close.runbook.py");
  CHECK(payload.at("commit") == "abc123");
  CHECK(payload.at("exit_code") == 3);
  CHECK(payload.at("outcome") == "failed");
  CHECK(payload.at("duration_ms") == 42);
  CHECK(payload.at("output") == "caf\xc3\xa9\n");

  record.sid.reset();
  auto without_sid = boost::json::parse(hookd::hook_finished_event(record, 0).payload_json);
  CHECK(without_sid.as_object().at("sid").is_null());
}

TEST_CASE("the Hoop session id of a payload", "[hook_finished]") {
  // A Hoop webhook payload names the session by "id", the runbook shape by "sid".
  CHECK(hookd::hoop_session_id(R"({"event_type":"session.open","id":"s-1"})") ==
        std::optional<std::string>("s-1"));
  CHECK(hookd::hoop_session_id(R"({"id":"evt","sid":"s-2","event_session_open":null})") ==
        std::optional<std::string>("s-2"));
  CHECK_FALSE(hookd::hoop_session_id(R"({"id":"not-a-session"})").has_value());
  CHECK_FALSE(hookd::hoop_session_id(R"({"event_type":"session.open","id":7})").has_value());
  CHECK_FALSE(hookd::hoop_session_id("not json").has_value());
}
