// The data directory is hookd's user's alone: the real daemon, run through
// every use of it (journal, runbooks clone and script copies, hook runs,
// delivery state and dead letters), leaves nothing open to group or others,
// whatever umask it was started with; a directory an older hookd left open
// is closed again at start-up, with a warning.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/data_dir_scan.h"
#include "support/event_view.h"
#include "support/runbooks_repos.h"
#include "support/scoped_umask.h"
#include "support/sink_process.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::ChildProcess;
using hookd::test::entries_open_to_others;
using hookd::test::http;
using hookd::test::read_file;
using hookd::test::Reply;
using hookd::test::TempDir;
using hookd::test::wait_until;
using namespace std::chrono_literals;

namespace {

const std::string kAdminToken = "data-dir-test-admin-token";

// What makes hookd use every part of its data dir: hooks from a local
// runbooks repository, an endpoint that delivers to a sink and one that
// dead-letters (a closed port, retried twice at once).
struct Workload {
  TempDir tmp;
  fs::path runbooks = tmp.path() / "runbooks";
  hookd::test::SinkProcess sink;
  unsigned short closed_port = hookd::test::free_port();

  Workload() { hookd::test::make_runbooks_repo(runbooks); }

  std::vector<std::string> flags() const {
    return {"--git-url",
            runbooks.string(),
            "--git-hook-config-ttl",
            "60",
            "--admin-token",
            kAdminToken,
            "--endpoint",
            "name=live,url=http://127.0.0.1:" + std::to_string(sink.port()) + "/hook",
            "--endpoint",
            "name=down,url=http://127.0.0.1:" + std::to_string(closed_port) + "/hook",
            "--retry-schedule",
            "100ms,100ms",
            "--retry-jitter",
            "0",
            "--min-backoff",
            "0"};
  }

  // One session.open event through the hook and both endpoints, to the end.
  void drive(unsigned short port, const std::string& id) const {
    bool ready = wait_until([&] {
      return http(port, "GET", "/readyz").body.find("\"ready\":true") != std::string::npos;
    });
    REQUIRE(ready);
    auto event = json::parse(hookd::test::fixture("session-open.event.json")).as_object();
    event["id"] = id;
    auto accepted = hookd::test::post_json(port, "/v1/events", json::serialize(event));
    INFO(accepted.body);
    REQUIRE(accepted.status == 202);

    Reply view = hookd::test::wait_for_event_view(port, id, [](const json::object& v) {
      return hookd::test::hook_outcome(v) == "ok" &&
             hookd::test::delivery_state(v, "live") == "delivered" &&
             hookd::test::delivery_state(v, "down") == "dead_letter";
    });
    INFO(view.body);
    REQUIRE(view.status == 200);
    CHECK(sink.delivered().count(id) == 1);
    auto endpoints =
        http(port, "GET", "/v1/endpoints", "", {{"Authorization", "Bearer " + kAdminToken}});
    CHECK(endpoints.status == 200);
  }
};

// The data dir holds a journal, a clone, script copies and delivery files:
// what the permission checks below looked at.
void require_used(const fs::path& data) {
  for (const char* part : {"journal", "runbooks/repo", "runbooks/scripts", "delivery"}) {
    INFO(part);
    CHECK(fs::is_directory(data / part));
  }
  CHECK(fs::exists(data / "delivery" / "down.dead-letters.jsonl"));
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines)
    out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("under umask 0 the data dir hookd creates, and all it writes, stay private",
          "[security][data-dir]") {
  Workload load;
  TempDir tmp;
  const fs::path parent = tmp.path() / "state";
  const fs::path data = parent / "hookd";
  const fs::path port_file = tmp.path() / "port";
  const fs::path log = tmp.path() / "hookd.log";
  std::vector<std::string> args = {HOOKD_BINARY,  "--listen",         "127.0.0.1:0",
                                   "--port-file", port_file.string(), "--data-dir",
                                   data.string(), "--threads",        "2"};
  for (const auto& flag : load.flags())
    args.push_back(flag);
  ChildProcess hookd;
  {
    // Without hookd's own umask every file would be created world-writable.
    hookd::test::ScopedUmask open_umask(0);
    hookd = ChildProcess(args, log);
  }
  bool up = wait_until([&] {
    auto text = read_file(port_file);
    return !hookd.running() || (!text.empty() && text.back() == '\n');
  });
  INFO(read_file(log));
  REQUIRE(up);
  REQUIRE(hookd.running());
  const auto port = static_cast<unsigned short>(std::stoi(read_file(port_file)));

  CHECK((fs::status(parent).permissions() & fs::perms::mask) == fs::perms::owner_all);
  CHECK((fs::status(data).permissions() & fs::perms::mask) == fs::perms::owner_all);
  CHECK(entries_open_to_others(data).empty());

  load.drive(port, "evt_private_1");
  INFO(joined(entries_open_to_others(data)));
  CHECK(entries_open_to_others(data).empty());
  CHECK(hookd.terminate() == 0);
  require_used(data);
  CHECK(entries_open_to_others(data).empty());
  CHECK(read_file(log).find("accessible to other users") == std::string::npos);
}

TEST_CASE("a data dir left 0755 with 0644 files is made private at start-up, with a warning",
          "[security][data-dir]") {
  Workload load;
  hookd::test::DaemonOptions options;
  options.args = load.flags();
  hookd::test::Daemon daemon(options);
  load.drive(daemon.port(), "evt_private_1");
  REQUIRE(daemon.terminate() == 0);
  const fs::path data = daemon.data_dir();

  // As an older hookd (or a umask 022 start) left it: go+rX everywhere.
  REQUIRE(hookd::test::run_command("chmod -R go+rX '" + data.string() + "'") == 0);
  REQUIRE((fs::status(data).permissions() & fs::perms::mask) == static_cast<fs::perms>(0755));
  const auto open_before = entries_open_to_others(data).size();
  REQUIRE(open_before > 10);

  daemon.restart();
  INFO(daemon.log());
  CHECK(entries_open_to_others(data).empty());
  // The restart's warning (the last: the test's own mkdir may have earned
  // the first start one too) names the directory, its mode and what it fixed.
  json::object warning;
  std::istringstream lines(daemon.log());
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    json::value record = json::parse(line, ec);
    if (!ec && record.is_object() &&
        record.at("msg").as_string().find("accessible to other users") != json::string::npos) {
      warning = record.as_object();
    }
  }
  REQUIRE_FALSE(warning.empty());
  CHECK(warning.at("level") == "warn");
  CHECK(warning.at("data_dir") == json::value(data.string()));
  CHECK(warning.at("mode_was") == "0755");
  // Everything that was open, but the directory itself.
  CHECK(warning.at("entries_fixed").to_number<std::size_t>() + 1 == open_before);

  load.drive(daemon.port(), "evt_private_2");
  CHECK(daemon.terminate() == 0);
  require_used(data);
  INFO(joined(entries_open_to_others(data)));
  CHECK(entries_open_to_others(data).empty());
}
