// --dedupe-window: an id posted again within the window is a duplicate (200);
// after it, the id is accepted as a new event (202).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "support/support.h"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

Reply post_event(const Daemon& daemon, const std::string& id) {
  return post_json(daemon.port(), "/v1/events",
                   R"({"type":"session.open","id":")" + id + R"(","payload":{"n":1}})");
}

}  // namespace

TEST_CASE("a duplicate within the dedupe window is 200 and one beyond it is new") {
  DaemonOptions short_window;
  short_window.args = {"--dedupe-window", "1s"};
  Daemon daemon(hookd::test::with_read_token(short_window));
  Daemon default_window(hookd::test::with_read_token({}));

  for (Daemon* d : {&daemon, &default_window}) {
    REQUIRE(post_event(*d, "evt_window").status == 202);
    CHECK(post_event(*d, "evt_window").status == 200);
  }
  // Waiting past the window (and its 1/1024 granularity), not timing.
  std::this_thread::sleep_for(1500ms);
  Reply again = post_event(daemon, "evt_window");
  CHECK(again.status == 202);
  Reply event = hookd::test::authorized_get(daemon.port(), "/v1/events/evt_window");
  REQUIRE(event.status == 200);
  CHECK(event.body.find("\"seq\":2") != std::string::npos);  // the new one
  CHECK(post_event(daemon, "evt_window").status == 200);     // and it dedupes again

  // The default window is a day.
  CHECK(post_event(default_window, "evt_window").status == 200);
}

TEST_CASE("help documents --dedupe-window") {
  std::string out;
  REQUIRE(run_command(std::string(HOOKD_BINARY) + " --help", &out) == 0);
  CHECK(out.find("--dedupe-window") != std::string::npos);
  CHECK(out.find("24h") != std::string::npos);
}
