// tools/demo, the README's first command, as a newcomer runs it: it makes
// the runbooks repository, starts hookd on it with a file endpoint, and one
// posted fixture then shows the three effects the README promises: the
// hook's output in the log, the delivered line in the file, and both in
// GET /v1/events/{id}.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/support.h"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* const kEventId = "evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A";
const char* const kHookOutput =
    "hookd demo: alice@example.com opened session 9b3e2c1a-47d5-4f6e-8a90-1c2b3d4e5f60 on "
    "pg-prod-readonly (exec)";

}  // namespace

TEST_CASE("tools/demo runs a hook and delivers to its file endpoint on the first event") {
  hookd::test::TempDir dir;
  const fs::path demo = dir.path() / "hookd-demo";
  const fs::path port_file = dir.path() / "port";
  const fs::path output = dir.path() / "demo.log";
  hookd::test::ChildProcess process(
      {std::string(HOOKD_SOURCE_DIR) + "/tools/demo"}, output,
      {"HOOKD_DEMO_BUILD_DIR=" + fs::path(HOOKD_BINARY).parent_path().string(),
       "HOOKD_DEMO_DIR=" + demo.string(), "HOOKD_LISTEN=127.0.0.1:0",
       "HOOKD_PORT_FILE=" + port_file.string()});
  auto log = [&] { return hookd::test::read_file(output); };
  bool up = hookd::test::wait_until([&] {
    if (!process.running()) return true;
    auto text = fs::exists(port_file) ? hookd::test::read_file(port_file) : std::string();
    return !text.empty() && text.back() == '\n';
  });
  INFO(log());
  REQUIRE(up);
  REQUIRE(process.running());
  const auto port = static_cast<unsigned short>(std::stoi(hookd::test::read_file(port_file)));

  // It made a real git repository with the example hooks, and says where everything is.
  std::string head;
  REQUIRE(hookd::test::run_command("git -C '" + (demo / "runbooks").string() +
                                       "' log --oneline -- hoop-hooks/session-open.runbook.py",
                                   &head) == 0);
  CHECK_FALSE(head.empty());
  const std::string token = hookd::test::read_file(demo / "token");
  CHECK(token.size() == 32);
  for (const std::string& shown : {token, (demo / "events.ndjson").string(),
                                   (demo / "runbooks").string(), (demo / "data").string()}) {
    CHECK(log().find(shown) != std::string::npos);
  }

  // Hooks run once the first snapshot is loaded: /readyz says when.
  REQUIRE(hookd::test::wait_until(
      [&] { return hookd::test::http(port, "GET", "/readyz").status == 200; }));
  auto posted =
      hookd::test::post_json(port, "/v1/events", hookd::test::fixture("session-open.event.json"));
  REQUIRE(posted.status == 202);

  // 1. The hook's output in the log.
  CHECK(hookd::test::wait_until([&] { return log().find(kHookOutput) != std::string::npos; }));
  // 2. The delivered line in the file.
  const fs::path events = demo / "events.ndjson";
  CHECK(hookd::test::wait_until([&] {
    return fs::exists(events) && hookd::test::read_file(events).find(std::string("\"id\":\"") +
                                                                     kEventId) != std::string::npos;
  }));
  // 3. Both in GET /v1/events/{id}.
  json::value status;
  CHECK(hookd::test::wait_until([&] {
    auto reply = hookd::test::http(port, "GET", std::string("/v1/events/") + kEventId);
    if (reply.status != 200) return false;
    status = json::parse(reply.body);
    const auto& o = status.as_object();
    return o.contains("hook") && o.at("hook").is_object() &&
           o.at("deliveries").at("demo-file").at("state").as_string() == "delivered";
  }));
  INFO(json::serialize(status));
  CHECK(std::string(status.at("hook").at("output").as_string()).find(kHookOutput) == 0);
  CHECK(status.at("hook").at("exit_code").as_int64() == 0);

  // The token it printed opens the admin routes.
  auto admin =
      hookd::test::http(port, "GET", "/v1/endpoints", "", {{"Authorization", "Bearer " + token}});
  CHECK(admin.status == 200);
  CHECK(process.terminate() == 0);
}
