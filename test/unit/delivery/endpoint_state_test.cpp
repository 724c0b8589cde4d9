// EndpointState: the disabled flag that outlives a restart, as text and as
// the file an endpoint rewrites on every change.
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/endpoint_state.h"
#include "support/support.h"

using hookd::EndpointState;

TEST_CASE("endpoint state: text round trip and tolerant parsing") {
  for (const EndpointState& state : {EndpointState{},
                                     EndpointState{true, "410 Gone from the endpoint",
                                                   "2026-11-24T10:15:02.123Z", 1795515302123},
                                     EndpointState{true, "quotes \" and \\ and \u00e9", ""}}) {
    std::string text = hookd::endpoint_state_text(state);
    CHECK(text.back() == '\n');
    CHECK(hookd::parse_endpoint_state(text) == state);
  }
  struct Case {
    const char* text;
    std::optional<EndpointState> state;
  };
  const std::vector<Case> cases = {
      {R"({"disabled":true})", EndpointState{true, "", ""}},
      {R"({"disabled":true,"changed_ms":12})", EndpointState{true, "", "", 12}},
      {R"({"changed_ms":"12"})", EndpointState{}},
      {R"({"disabled":"yes","reason":5,"at":null})", EndpointState{}},
      {R"({"other":1})", EndpointState{}},
      {"{}", EndpointState{}},
      {"[]", std::nullopt},
      {"", std::nullopt},
      {R"({"disabled":true)", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(hookd::parse_endpoint_state(c.text) == c.state);
  }
}

TEST_CASE("endpoint state file: loaded at start, saved on every change") {
  hookd::test::TempDir dir;
  const auto file = dir.path() / "ep.state.json";
  auto thread = std::make_shared<hookd::BlockingIoThread>();
  auto saved = [&] {
    std::promise<void> ran;
    thread->post([&ran] { ran.set_value(); });
    ran.get_future().wait();
    return hookd::parse_endpoint_state(hookd::test::read_file(file));
  };

  hookd::EndpointStateFile state(thread, file, "ep");
  state.load();  // no file yet: enabled
  CHECK_FALSE(state.disabled());
  CHECK_FALSE(state.set_disabled(false, "", 0));  // already so: nothing written
  CHECK_FALSE(std::filesystem::exists(file));

  CHECK(state.set_disabled(true, "410 Gone from the endpoint", 1795515302123));
  CHECK(state.state() == EndpointState{true, "410 Gone from the endpoint",
                                       "2026-11-24T10:15:02.123Z", 1795515302123});
  CHECK(saved() == state.state());
  CHECK_FALSE(state.set_disabled(true, "another reason", 1795515309999));
  CHECK(state.state().reason == "410 Gone from the endpoint");

  hookd::EndpointStateFile restarted(thread, file, "ep");
  restarted.load();
  CHECK(restarted.state() == state.state());
  CHECK(restarted.set_disabled(false, "ignored when enabling", 1795515309999));
  const EndpointState enabled{false, "", "", 1795515309999};
  CHECK(restarted.state() == enabled);
  CHECK(saved() == enabled);

  // Another node's change is taken only when it is newer than this one's.
  const EndpointState older{true, "410 Gone from the endpoint", "x", 1795515300000};
  CHECK_FALSE(restarted.adopt(older));
  CHECK(restarted.state() == enabled);
  const EndpointState newer{true, "410 Gone from the endpoint", "y", 1795515310000};
  CHECK(restarted.adopt(newer));
  CHECK(restarted.state() == newer);
  CHECK(saved() == newer);
  CHECK_FALSE(restarted.adopt(newer));  // the same change again
  EndpointState reworded = newer;
  reworded.reason = "another node's words";
  reworded.changed_ms += 1;
  CHECK_FALSE(restarted.adopt(reworded));  // newer, but still disabled: no flip
  CHECK(restarted.state() == reworded);
  // Saved too; and waiting for that save keeps it from landing on the
  // damaged file written next.
  CHECK(saved() == reworded);

  hookd::test::write_file(file, "not json");
  hookd::EndpointStateFile damaged(thread, file, "ep");
  damaged.load();  // logged and ignored
  CHECK(damaged.state() == EndpointState{});
  thread->stop();
}
