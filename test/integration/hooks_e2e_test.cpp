// End to end: the real daemon, a real git repository of runbooks, real hook
// scripts that write the payload they saw.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::fixture;
using hookd::test::read_file;
using hookd::test::run_command;
using hookd::test::TempDir;
using hookd::test::wait_until;
using hookd::test::write_file;

namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kGitPassword = "git-password-must-not-leak";

// A hook that records what it saw in $OUT_DIR/<name>-<n>.json, n counting
// runs: the payload, its version marker and its whole environment.
std::string hook_script(const std::string& name, const std::string& version) {
  std::string text = R"(import json, os
NAME, VERSION = "@NAME@", "@VERSION@"
payload = os.environ["HOOP_RUNBOOK_HOOK_PAYLOAD"]
out = os.environ["OUT_DIR"]
n = 0
while True:
    try:
        os.close(os.open(os.path.join(out, "%s-%d.claim" % (NAME, n)),
                         os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        break
    except FileExistsError:
        n += 1
record = {"version": VERSION, "payload": payload, "env": dict(os.environ), "cwd": os.getcwd()}
tmp = os.path.join(out, "%s-%d.tmp" % (NAME, n))
with open(tmp, "w") as f:
    json.dump(record, f)
os.rename(tmp, os.path.join(out, "%s-%d.json" % (NAME, n)))
print("recorded", n)
)";
  auto replace = [&](const std::string& token, const std::string& value) {
    text.replace(text.find(token), token.size(), value);
  };
  replace("@NAME@", name);
  replace("@VERSION@", version);
  return text;
}

void git(const fs::path& repo, const std::string& args) {
  std::string output;
  int rc = run_command("git -C '" + repo.string() +
                           "' -c user.name=hookd-test -c user.email=test@example.com "
                           "-c commit.gpgsign=false " +
                           args,
                       &output);
  INFO(output);
  REQUIRE(rc == 0);
}

// A runbooks repository with session-open and session-close hooks at `version`.
struct Runbooks {
  TempDir dir;
  fs::path repo = dir.path() / "runbooks";

  Runbooks() {
    fs::create_directories(repo / "hoop-hooks");
    git(repo, "init -q -b main");
    commit("v1");
  }

  void commit(const std::string& version) {
    write_file(repo / "hoop-hooks" / "session-open.runbook.py",
               hook_script("session-open", version));
    write_file(repo / "hoop-hooks" / "session-close.runbook.py",
               hook_script("session-close", version));
    git(repo, "add -A");
    git(repo, "commit -q -m " + version);
  }
};

struct Hooked {
  Runbooks runbooks;
  TempDir out_dir;
  fs::path out = out_dir.path();
  std::unique_ptr<Daemon> daemon;

  explicit Hooked(const std::string& ttl) {
    DaemonOptions o;
    o.args = {"--git-url",
              runbooks.repo.string(),
              "--git-hook-config-ttl",
              ttl,
              "--hook-interpreter",
              "/usr/bin/python3",
              "--hook-timeout",
              "20s",
              "--hook-concurrency",
              "2",
              "--hook-env",
              "OUT_DIR=" + out.string()};
    o.env = {"HOOKD_INBOUND_SECRET=" + kSecret, "GIT_PASSWORD=" + kGitPassword,
             "HOOKD_E2E_CANARY=daemon-env-must-not-leak"};
    daemon = std::make_unique<Daemon>(hookd::test::with_read_token(o));
  }

  // Posts one event (the fixture with `id`), signed; returns its id.
  std::string post(const std::string& fixture_name, const std::string& id) {
    auto event = boost::json::parse(fixture(fixture_name)).as_object();
    event["id"] = id;
    auto body = boost::json::serialize(event);
    auto secret = hookd::WebhookSecret::parse(kSecret);
    REQUIRE(secret.ok());
    auto now = hookd::now_unix_ms() / 1000;
    auto reply = hookd::test::post_json(daemon->port(), "/v1/events", body,
                                        {{"webhook-id", id},
                                         {"webhook-timestamp", std::to_string(now)},
                                         {"webhook-signature", secret->sign(id, now, body)}});
    INFO(reply.body);
    REQUIRE(reply.status == 202);
    return id;
  }

  fs::path record(const std::string& name, int n) const {
    return out / (name + "-" + std::to_string(n) + ".json");
  }

  boost::json::object wait_record(const std::string& name, int n) const {
    auto path = record(name, n);
    INFO(daemon->log());
    REQUIRE(wait_until([&] { return fs::exists(path); }, 30s));
    return boost::json::parse(read_file(path)).as_object();
  }

  // The "hook" part of GET /v1/events/{id}, once the run has finished.
  boost::json::object wait_hook_status(const std::string& id) const {
    boost::json::object hook;
    bool finished = wait_until(
        [&] {
          auto reply = hookd::test::authorized_get(daemon->port(), "/v1/events/" + id);
          if (reply.status != 200) return false;
          auto view = boost::json::parse(reply.body).as_object();
          auto it = view.find("hook");
          if (it == view.end() || !it->value().is_object()) return false;
          hook = it->value().as_object();
          return hook.at("outcome") != "running";
        },
        30s);
    INFO(daemon->log());
    REQUIRE(finished);
    return hook;
  }
};

boost::json::value fixture_payload(const std::string& name) {
  return boost::json::parse(fixture(name)).at("payload");
}

}  // namespace

TEST_CASE("hooks receive the posted payload, and only a clean environment", "[e2e]") {
  Hooked h("3600");
  auto open_id = h.post("session-open.event.json", "evt_e2e_open_1");
  auto close_id = h.post("session-close.event.json", "evt_e2e_close_1");

  auto open = h.wait_record("session-open", 0);
  auto close = h.wait_record("session-close", 0);
  CHECK(boost::json::parse(open.at("payload").as_string()) ==
        fixture_payload("session-open.event.json"));
  CHECK(boost::json::parse(close.at("payload").as_string()) ==
        fixture_payload("session-close.event.json"));
  CHECK(open.at("version") == "v1");

  // The daemon's secrets and own environment stay out of the child.
  for (const auto* record : {&open, &close}) {
    auto text = boost::json::serialize(record->at("env"));
    CHECK(text.find(kGitPassword) == std::string::npos);
    CHECK(text.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == std::string::npos);
    CHECK(text.find("daemon-env-must-not-leak") == std::string::npos);
    const auto& env = record->at("env").as_object();
    CHECK_FALSE(env.contains("GIT_PASSWORD"));
    CHECK_FALSE(env.contains("HOOKD_INBOUND_SECRET"));
    CHECK(std::string(env.at("OUT_DIR").as_string()) == h.out.string());
    CHECK(env.at("HOME") == record->at("cwd"));
  }

  auto hook = h.wait_hook_status(open_id);
  CHECK(hook.at("outcome") == "ok");
  CHECK(hook.at("exit_code") == 0);
  CHECK(hook.at("script") == "session-open.runbook.py");
  CHECK(hook.at("output") == "recorded 0\n");
  CHECK(h.wait_hook_status(close_id).at("exit_code") == 0);

  // A second session.open (another id, same payload) runs again.
  h.post("session-open.event.json", "evt_e2e_open_2");
  auto again = h.wait_record("session-open", 1);
  CHECK(boost::json::parse(again.at("payload").as_string()) ==
        fixture_payload("session-open.event.json"));

  auto metrics = hookd::test::http(h.daemon->port(), "GET", "/metrics");
  CHECK(metrics.body.find("hookd_hook_runs_total{outcome=\"ok\"}") != std::string::npos);
  CHECK(metrics.body.find("hookd_hook_duration_seconds_bucket") != std::string::npos);
}

TEST_CASE("a changed script is not used before the TTL", "[e2e]") {
  Hooked h("3600");
  h.post("session-open.event.json", "evt_e2e_ttl_long_1");
  CHECK(h.wait_record("session-open", 0).at("version") == "v1");
  h.runbooks.commit("v2");
  std::this_thread::sleep_for(1500ms);
  auto id = h.post("session-open.event.json", "evt_e2e_ttl_long_2");
  CHECK(h.wait_record("session-open", 1).at("version") == "v1");
  auto hook = h.wait_hook_status(id);
  CHECK(hook.at("outcome") == "ok");
}

TEST_CASE("a changed script runs once the TTL has passed", "[e2e]") {
  Hooked h("1");
  h.post("session-open.event.json", "evt_e2e_ttl_short_0");
  CHECK(h.wait_record("session-open", 0).at("version") == "v1");
  h.runbooks.commit("v2");
  // Post until a run sees v2: the source fetches again after 1 s.
  int n = 1;
  bool updated = wait_until(
      [&] {
        h.post("session-open.event.json", "evt_e2e_ttl_short_" + std::to_string(n));
        auto record = h.wait_record("session-open", n);
        ++n;
        if (record.at("version") == "v2") return true;
        std::this_thread::sleep_for(300ms);
        return false;
      },
      30s);
  INFO(h.daemon->log());
  CHECK(updated);
}
