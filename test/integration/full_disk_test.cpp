// The daemon on a full disk: its data dir on a 3 MiB tmpfs (mounted when the
// test runs as root, as CI does), filled until POST /v1/events answers 507.
// Everything accepted stays readable, /readyz says why it is not ready, and
// once the operator frees space posts are accepted again without a restart;
// after kill -9 and a restart every accepted event is still there.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "support/skip.h"
#include "support/support.h"
#include "support/tmpfs_mount.h"

using namespace hookd::test;
using namespace std::chrono_literals;

namespace {

std::string event_body(const std::string& id) {
  return R"({"type":"session.open","id":")" + id + R"(","payload":{"data":")" +
         std::string(900, 'd') + R"("}})";
}

bool readable(const Daemon& daemon, const std::string& id) {
  return hookd::test::authorized_get(daemon.port(), "/v1/events/" + id).status == 200;
}

}  // namespace

TEST_CASE("a full disk answers 507 until space returns, and loses nothing") {
  TempDir tmp;
  TmpfsMount disk(tmp.path() / "data", 3 << 20);
  if (!disk.mounted()) HOOKD_SKIP("the data dir goes on a small tmpfs: " + disk.error());
  REQUIRE(write_filler(disk.path() / "filler", 1 << 20));

  DaemonOptions options;
  options.data_dir = disk.path();
  // An endpoint nobody answers holds every segment, so only the operator can
  // free space here.
  options.args = {"--journal-segment-bytes",
                  "128KiB",
                  "--retry-after",
                  "2s",
                  "--endpoint",
                  "name=held,url=http://127.0.0.1:" + std::to_string(free_port()) + "/hook"};
  Daemon daemon(hookd::test::with_read_token(options));

  std::vector<std::string> accepted;
  Reply refused;
  for (int i = 0; i < 20'000 && refused.status == 0; ++i) {
    const std::string id = "disk-" + std::to_string(i);
    Reply reply = post_json(daemon.port(), "/v1/events", event_body(id));
    if (reply.status == 202) {
      accepted.push_back(id);
    } else {
      INFO(reply.body);
      REQUIRE(reply.status == 507);
      refused = reply;
      refused.body += "\nid=" + id;
    }
  }
  INFO(daemon.log());
  REQUIRE(refused.status == 507);
  REQUIRE(accepted.size() > 100);
  CHECK(refused.headers["retry-after"] == "2");
  const std::string refused_id = refused.body.substr(refused.body.rfind("id=") + 3);

  Reply ready = http(daemon.port(), "GET", "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("\"writable\":false") != std::string::npos);
  CHECK(ready.body.find("No space left on device") != std::string::npos);
  const std::string metrics = http(daemon.port(), "GET", "/metrics").body;
  CHECK(metrics.find("hookd_journal_writable 0") != std::string::npos);
  CHECK(metrics.find("errno=\"ENOSPC\"") != std::string::npos);
  CHECK(metrics.find("hookd_ingest_rejected_total{reason=\"no_space\"}") != std::string::npos);

  for (const auto& id : accepted) {
    INFO(id);
    REQUIRE(readable(daemon, id));
  }
  CHECK_FALSE(readable(daemon, refused_id));

  // The operator frees space: no restart needed.
  std::filesystem::remove(disk.path() / "filler");
  REQUIRE(wait_until([&] { return http(daemon.port(), "GET", "/readyz").status == 200; }));
  for (int i = 0; i < 20; ++i) {
    const std::string id = "later-" + std::to_string(i);
    REQUIRE(post_json(daemon.port(), "/v1/events", event_body(id)).status == 202);
    accepted.push_back(id);
  }
  REQUIRE(post_json(daemon.port(), "/v1/events", event_body(refused_id)).status == 202);
  accepted.push_back(refused_id);

  daemon.kill9();
  daemon.restart();
  CHECK(http(daemon.port(), "GET", "/readyz").status == 200);
  for (const auto& id : accepted) {
    INFO(id);
    REQUIRE(readable(daemon, id));
  }
  CHECK(post_json(daemon.port(), "/v1/events", event_body("after-restart")).status == 202);
}
