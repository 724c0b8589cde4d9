// Hoop's events run Hoop's hook scripts unchanged: the fixture messages of a
// Hoop gateway, created through the Svix API (as its Go SDK sends them) or
// posted bare to /v1/events (as Svix delivers them), run the fixture scripts
// of ../shared/fixtures/hoop-hooks/ from a real git repository, which see
// HOOP_RUNBOOK_HOOK_PAYLOAD in the shape Hoop's own runbook hooks give.
// --hook-payload raw passes the payload as sent.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/event_view.h"
#include "support/runbooks_repos.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::fixture;
using hookd::test::git;
using hookd::test::http;
using hookd::test::Reply;
using hookd::test::TempDir;
using hookd::test::write_file;

namespace {

const std::string kToken = "hoop-hooks-test-token";
const std::string kOrg = "0c4a8f3e-1b2d-4e5f-9a6b-7c8d9e0f1a2b";
using Headers = std::vector<std::pair<std::string, std::string>>;

Headers bearer() {
  return {{"Authorization", "Bearer " + kToken}, {"Content-Type", "application/json"}};
}

// Prints the payload it got, so the run's output shows exactly what a
// script sees.
const char* kRecorder = R"(import os
print(os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"])
)";

// A runbooks repository holding Hoop's example scripts as they are, plus a
// recorder for microsoftteams.review.create.
struct HoopRunbooks {
  TempDir dir;
  fs::path repo = dir.path() / "runbooks";

  explicit HoopRunbooks(bool recorders) {
    fs::create_directories(repo / "hoop-hooks");
    git(repo, "init -q -b main");
    for (const char* name : {"session-open.runbook.py", "session-close.runbook.py"}) {
      write_file(repo / "hoop-hooks" / name,
                 recorders ? std::string(kRecorder) : fixture(std::string("hoop-hooks/") + name));
    }
    write_file(repo / "hoop-hooks" / "microsoftteams-review-create.runbook.py", kRecorder);
    git(repo, "add -A");
    git(repo, "commit -q -m runbooks");
  }
};

std::unique_ptr<Daemon> start(const HoopRunbooks& runbooks, const std::string& mode = "") {
  DaemonOptions options;
  options.args = {"--git-url", runbooks.repo.string(), "--git-hook-config-ttl",
                  "3600",      "--hook-interpreter",   "/usr/bin/python3"};
  if (!mode.empty()) options.args.insert(options.args.end(), {"--hook-payload", mode});
  options.env = {"HOOKD_API_TOKEN=" + kToken, "HOOKD_ADMIN_TOKEN=" + kToken};
  return std::make_unique<Daemon>(options);
}

// Hoop's gateway calls: the application for its org, then the message.
// Returns the message id.
std::string send_message(const Daemon& daemon, const std::string& message_fixture) {
  Reply app = http(daemon.port(), "POST", "/api/v1/app/?get_if_exists=true",
                   R"({"name":"0c4a8f3e","uid":")" + kOrg + R"("})", bearer());
  INFO(app.body);
  REQUIRE((app.status == 201 || app.status == 200));
  Reply msg = http(daemon.port(), "POST", "/api/v1/app/" + kOrg + "/msg/",
                   fixture("hoop-webhooks/" + message_fixture), bearer());
  INFO(msg.body);
  REQUIRE(msg.status == 202);
  return std::string(json::parse(msg.body).as_object().at("id").as_string());
}

// The finished hook run of event `id`, as GET /v1/events/{id} shows it.
json::object finished_hook(const Daemon& daemon, const std::string& id) {
  Reply reply = hookd::test::wait_for_event_view(
      daemon.port(), id,
      [](const json::object& view) {
        std::string outcome = hookd::test::hook_outcome(view);
        return !outcome.empty() && outcome != "running";
      },
      bearer());
  INFO(reply.status << " " << reply.body);
  REQUIRE(reply.status == 200);
  json::object view = json::parse(reply.body).as_object();
  REQUIRE(view.contains("hook"));
  return view.at("hook").as_object();
}

std::string output_of(const json::object& hook) {
  INFO(json::serialize(hook));
  REQUIRE(hook.at("outcome").as_string() == "ok");
  return std::string(hook.at("output").as_string());
}

json::object fixture_payload(const std::string& name) {
  return json::parse(fixture("hoop-webhooks/" + name)).as_object().at("payload").as_object();
}

}  // namespace

TEST_CASE("Hoop's fixture hook scripts run unchanged on the messages Hoop's gateway sends") {
  HoopRunbooks runbooks(false);
  auto daemon = start(runbooks);

  // session-open.runbook.py prints when connection_name holds "prod": it
  // reads sid, event_session_open.connection_name and .user_email.
  std::string open = send_message(*daemon, "session-open.message.json");
  CHECK(output_of(finished_hook(*daemon, open)) ==
        "production session 8bfc995b-4f15-483b-8423-33f634865f14 by john.doe@example.com\n");

  // session-close.runbook.py prints {"sid", "exit_code"} from
  // event_session_close.
  std::string close = send_message(*daemon, "session-close.message.json");
  CHECK(json::parse(output_of(finished_hook(*daemon, close))) ==
        json::parse(R"({"sid":"8bfc995b-4f15-483b-8423-33f634865f14","exit_code":1})"));
}

TEST_CASE("hook payloads: Hoop's runbook hook shape by default, as sent with --hook-payload raw") {
  HoopRunbooks runbooks(true);

  SECTION("hoop: session.open and session.close are mapped field by field") {
    auto daemon = start(runbooks);
    json::value open = json::parse(
        output_of(finished_hook(*daemon, send_message(*daemon, "session-open.message.json"))));
    json::value expected_open = json::parse(R"({
      "id": "3f0c8e52-9a41-4d57-b6e2-5c1d7a9e0b43",
      "sid": "8bfc995b-4f15-483b-8423-33f634865f14",
      "command": ["psql", "-v", "ON_ERROR_STOP=1"],
      "input_file": "",
      "event_session_open": {
        "verb": "exec",
        "connection_name": "pg-prod-readonly",
        "connection_type": "database",
        "connection_subtype": null,
        "connection_envs": {"envvar:PGHOST": "", "envvar:PGUSER": ""},
        "connection_reviewers": null,
        "input": "SELECT id, email FROM customers LIMIT 10;",
        "user_email": "john.doe@example.com"
      },
      "event_session_close": null
    })");
    INFO(json::serialize(open));
    // Every key Hoop's runbook hooks carry is there.
    for (const auto& member : expected_open.as_object()) {
      INFO(member.key());
      CHECK(open.as_object().contains(member.key()));
    }
    CHECK(open.at("id") == expected_open.at("id"));
    CHECK(open.at("sid") == expected_open.at("sid"));
    CHECK(open.at("command") == expected_open.at("command"));
    CHECK(open.at("input_file") == expected_open.at("input_file"));
    CHECK(open.at("event_session_close").is_null());
    const auto& got = open.at("event_session_open").as_object();
    const auto& want = expected_open.at("event_session_open").as_object();
    for (const char* key : {"verb", "connection_name", "connection_type", "input", "user_email"}) {
      INFO(key);
      CHECK(got.at(key) == want.at(key));
    }
    CHECK(got.at("connection_envs").as_object().contains("envvar:PGHOST"));
    CHECK(got.contains("connection_subtype"));
    CHECK(got.contains("connection_reviewers"));

    json::value close = json::parse(
        output_of(finished_hook(*daemon, send_message(*daemon, "session-close.message.json"))));
    INFO(json::serialize(close));
    CHECK(close.at("id") == "b7d1e0a4-2c6f-4e83-9f15-8a0b3c4d5e6f");
    CHECK(close.at("sid") == "8bfc995b-4f15-483b-8423-33f634865f14");
    CHECK(close.at("event_session_open").is_null());
    CHECK(
        close.at("event_session_close") ==
        json::parse(R"({"exit_code":1,"output":"ERROR:  permission denied for table customers"})"));

    // Other Hoop events reach their hook as sent.
    json::value teams = json::parse(output_of(finished_hook(
        *daemon, send_message(*daemon, "microsoftteams.review.create.message.json"))));
    CHECK(teams == fixture_payload("microsoftteams.review.create.message.json"));
  }

  SECTION("raw: the payload as Hoop sent it") {
    auto daemon = start(runbooks, "raw");
    json::value open = json::parse(
        output_of(finished_hook(*daemon, send_message(*daemon, "session-open.message.json"))));
    CHECK(open == fixture_payload("session-open.message.json"));
  }
}

TEST_CASE(
    "a bare Hoop payload posted to /v1/events (Svix as the sender) is an event of its event_type") {
  HoopRunbooks runbooks(true);
  auto daemon = start(runbooks);
  const std::string body = json::serialize(fixture_payload("session-open.message.json"));

  Reply posted = hookd::test::post_json(daemon->port(), "/v1/events", body,
                                        {{"svix-id", "msg_2b3c4d5e6f7g8h9i0j"}});
  INFO(posted.body);
  REQUIRE(posted.status == 202);
  CHECK(posted.body.find("msg_2b3c4d5e6f7g8h9i0j") != std::string::npos);
  // The sender's retry carries the same svix-id: the same event.
  CHECK(hookd::test::post_json(daemon->port(), "/v1/events", body,
                               {{"svix-id", "msg_2b3c4d5e6f7g8h9i0j"}})
            .status == 200);

  json::object hook = finished_hook(*daemon, "msg_2b3c4d5e6f7g8h9i0j");
  CHECK(hook.at("script") == "session-open.runbook.py");
  json::value seen = json::parse(output_of(hook));
  CHECK(seen.at("id") == "msg_2b3c4d5e6f7g8h9i0j");
  CHECK(seen.at("sid") == "8bfc995b-4f15-483b-8423-33f634865f14");
  CHECK(seen.at("event_session_open").at("connection_name") == "pg-prod-readonly");

  Reply stored = http(daemon->port(), "GET", "/v1/events/msg_2b3c4d5e6f7g8h9i0j", "", bearer());
  json::object view = json::parse(stored.body).as_object();
  CHECK(view.at("type") == "session.open");
  CHECK(view.at("payload") == fixture_payload("session-open.message.json"));

  SECTION("a bad event_type is a 400 naming it") {
    Reply bad = hookd::test::post_json(daemon->port(), "/v1/events",
                                       R"({"event_type":"no spaces allowed","id":"x"})");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("event_type") != std::string::npos);
  }
}
