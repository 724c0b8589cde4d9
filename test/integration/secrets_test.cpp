// No secret hookd is given ever leaves it except to where it belongs: the
// real daemon runs with every secret-bearing flag and environment variable
// set to a canary of its own, serves real traffic (signed ingest, a hook
// printing its whole environment, a clone over HTTPS with basic auth, a
// delivery to hookd-sink, dead letters and their replay, the admin and ops
// routes), stops, and then no canary is found in any byte of its data
// directory, in its log, or in any answer it gave.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/data_dir_scan.h"
#include "support/event_view.h"
#include "support/git_https_server.h"
#include "support/runbooks_repos.h"
#include "support/sink_process.h"
#include "support/standard_webhooks.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::Reply;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

// The raw key of a whsec_ secret: it must not turn up decoded either.
std::string whsec(const std::string& key) {
  return "whsec_" + hookd::base64_encode(key);
}

// Every secret the daemon is given, each a distinct canary.
struct Canaries {
  std::string inbound_old_key = "canary-inbound-old-7d1e";
  std::string inbound_new_key = "canary-inbound-new-2a9f";
  std::string admin_token = "canary-admin-token-5b3c";
  std::string git_password = "canary-git-password-8e4d";
  // In --git-url next to GIT_PASSWORD, which wins: never used, never stored.
  std::string git_url_password = "canary-git-url-password-1f6a";
  std::string ssh_keypass = "canary-ssh-keypass-2e9b";
  std::string ssh_key_material = "canary-ssh-key-material-5f1c";
  std::string siem_key = "canary-endpoint-key-9c2b";
  std::string siem_url_password = "canary-endpoint-url-password-0c5d";
  std::string siem_header = "canary-header-value-3b7e";
  std::string splunk_token = "canary-splunk-token-6d0a";
  std::string down_key = "canary-down-key-4e8f";
  std::string down_url_password = "canary-down-url-password-7a3f";
  std::string down_header = "canary-down-header-1d2c";
  // API tokens of the Svix API (/api/v1) go here once it takes them: a static
  // token and a signing key for HS256 JWTs, each its own canary.

  // name -> text to search for: each canary, and each whsec_ secret as
  // configured and as its base64 alone.
  std::map<std::string, std::string> needles() const {
    std::map<std::string, std::string> out = {
        {"inbound old key", inbound_old_key},
        {"inbound new key", inbound_new_key},
        {"admin token", admin_token},
        {"git password", git_password},
        {"git URL password", git_url_password},
        {"SSH key passphrase", ssh_keypass},
        {"SSH key", ssh_key_material},
        {"endpoint key", siem_key},
        {"endpoint URL password", siem_url_password},
        {"endpoint header value", siem_header},
        {"splunk token", splunk_token},
        {"down endpoint key", down_key},
        {"down endpoint URL password", down_url_password},
        {"down endpoint header value", down_header},
    };
    for (const auto& [name, key] :
         std::vector<std::pair<std::string, std::string>>{{"inbound old", inbound_old_key},
                                                          {"inbound new", inbound_new_key},
                                                          {"endpoint", siem_key},
                                                          {"down endpoint", down_key}}) {
      out[name + " secret, base64"] = whsec(key).substr(6);
    }
    return out;
  }
};

// Every answer the daemon gave: status line, headers and body.
struct Answers {
  std::vector<std::string> texts;

  Reply keep(Reply reply) {
    std::string text = std::to_string(reply.status) + "\n";
    for (const auto& [name, value] : reply.headers)
      text += name + ": " + value + "\n";
    texts.push_back(text + "\n" + reply.body);
    return reply;
  }
};

std::string event_body(const std::string& fixture_name) {
  auto event = json::parse(hookd::test::fixture(fixture_name)).as_object();
  event.erase("id");  // the webhook-id becomes its id
  return json::serialize(event);
}

Headers signed_by(const std::string& secret, const std::string& id, const std::string& body) {
  auto parsed = hookd::WebhookSecret::parse(secret);
  REQUIRE(parsed.ok());
  std::int64_t now = hookd::now_unix_ms() / 1000;
  return {{"webhook-id", id},
          {"webhook-timestamp", std::to_string(now)},
          {"webhook-signature", parsed->sign(id, now, body)}};
}

// The hook prints all it was given, so a secret in its environment or
// arguments would land in the stored output.
constexpr const char* kTellAllHook =
    "import json, os, sys\n"
    "print(json.dumps({'env': dict(os.environ), 'argv': sys.argv}))\n";

std::int64_t endpoint_number(const std::string& endpoints_json, const std::string& name,
                             const char* field) {
  const json::value endpoints = json::parse(endpoints_json);
  for (const auto& ep : endpoints.as_array()) {
    if (ep.at("name") == json::value(name)) return ep.at(field).to_number<std::int64_t>();
  }
  return -1;
}

}  // namespace

TEST_CASE("no secret given to hookd shows in its data dir, its log or its answers",
          "[security][secrets]") {
  const Canaries c;
  hookd::test::TempDir tmp;
  const fs::path work = tmp.path() / "runbooks";
  hookd::test::GitHttpsServer git_server("server", "hookd", c.git_password);
  git_server.serve_runbooks("runbooks.git", work);
  hookd::test::commit_script(work, "session-open.runbook.py", kTellAllHook);
  git_server.push(work, "runbooks.git");

  hookd::test::SinkProcess sink({"--secret", whsec(c.siem_key), "--token", c.splunk_token});
  const std::string sink_address = "127.0.0.1:" + std::to_string(sink.port());
  const std::string closed_address = "127.0.0.1:" + std::to_string(hookd::test::free_port());

  hookd::test::DaemonOptions options;
  options.args = {"--git-url",
                  "https://hookd:" + c.git_url_password +
                      "@127.0.0.1:" + std::to_string(git_server.port()) + "/runbooks.git",
                  "--git-ca", hookd::test::git_https_certificates().pem("ca").string(),
                  "--git-hook-config-ttl", "2", "--hook-output-max-bytes", "64KiB", "--endpoint",
                  "name=siem,url=http://siem-user:" + c.siem_url_password + "@" + sink_address +
                      "/hook,secret=" + whsec(c.siem_key) + ",header=X-Api-Key: " + c.siem_header,
                  "--endpoint",
                  "name=splunk,url=http://" + sink_address +
                      "/services/collector/event,format=splunk-hec,batch=1,token=" + c.splunk_token,
                  "--endpoint",
                  "name=down,url=http://down-user:" + c.down_url_password + "@" + closed_address +
                      "/hook,secret=" + whsec(c.down_key) + ",header=X-Api-Key: " + c.down_header,
                  "--retry-schedule", "100ms,100ms", "--retry-jitter", "0", "--min-backoff", "0",
                  // All hookd may say goes into the log searched below.
                  "--log-level", "debug"};
  options.env = {
      "HOOKD_INBOUND_SECRET=" + whsec(c.inbound_old_key) + "\n" + whsec(c.inbound_new_key),
      "HOOKD_ADMIN_TOKEN=" + c.admin_token, "GIT_PASSWORD=" + c.git_password,
      "GIT_SSH_KEYPASS=" + c.ssh_keypass,
      "GIT_SSH_KEY=-----BEGIN OPENSSH PRIVATE KEY-----\n" + c.ssh_key_material +
          "\n-----END OPENSSH PRIVATE KEY-----\n"};
  hookd::test::Daemon daemon(options);
  const auto port = daemon.port();
  const Headers admin = {{"Authorization", "Bearer " + c.admin_token}};
  Answers answers;

  // The clone over HTTPS (GIT_PASSWORD, not the URL's) makes hookd ready.
  bool ready = hookd::test::wait_until([&] {
    auto reply = hookd::test::http(port, "GET", "/readyz");
    return reply.body.find("\"ready\":true") != std::string::npos;
  });
  INFO(daemon.log());
  REQUIRE(ready);
  answers.keep(hookd::test::http(port, "GET", "/readyz"));

  // Ingest: signed by the reference library with the old secret, by hookd's
  // signer with the new one; unsigned and wrongly signed ones refused.
  const std::string open_body = event_body("session-open.event.json");
  const std::string close_body = event_body("session-close.event.json");
  auto open = answers.keep(
      hookd::test::post_json(port, "/v1/events", open_body,
                             hookd::test::reference_signed_headers(whsec(c.inbound_old_key),
                                                                   "msg_secrets_open", open_body)));
  INFO(open.body);
  REQUIRE(open.status == 202);
  auto close = answers.keep(
      hookd::test::post_json(port, "/v1/events", close_body,
                             signed_by(whsec(c.inbound_new_key), "msg_secrets_close", close_body)));
  INFO(close.body);
  REQUIRE(close.status == 202);
  CHECK(answers.keep(hookd::test::post_json(port, "/v1/events", open_body)).status == 401);
  CHECK(answers
            .keep(hookd::test::post_json(
                port, "/v1/events", open_body,
                signed_by(whsec("not-a-configured-secret"), "msg_secrets_bad", open_body)))
            .status == 401);

  // The hook ran, the sink has both events, the closed port dead-lettered them.
  auto finished = [](const json::object& view) {
    return hookd::test::delivery_state(view, "siem") == "delivered" &&
           hookd::test::delivery_state(view, "splunk") == "delivered" &&
           hookd::test::delivery_state(view, "down") == "dead_letter";
  };
  auto open_view = answers.keep(hookd::test::wait_for_event_view(
      port, "msg_secrets_open",
      [&](const json::object& view) {
        return finished(view) && hookd::test::hook_outcome(view) == "ok";
      },
      admin));
  INFO(open_view.body);
  REQUIRE(open_view.status == 200);
  REQUIRE(json::parse(open_view.body).at("hook").at("outcome") == "ok");
  CHECK(open_view.body.find("HOOP_RUNBOOK_HOOK_PAYLOAD") != std::string::npos);  // it told all
  auto close_view =
      answers.keep(hookd::test::wait_for_event_view(port, "msg_secrets_close", finished, admin));
  INFO(close_view.body);
  REQUIRE(close_view.status == 200);
  CHECK(sink.delivered().count("msg_secrets_open") == 1);
  CHECK(sink.delivered().count("msg_secrets_close") == 1);

  // The admin routes: refused without the token, listed and replayed with it.
  CHECK(answers.keep(hookd::test::http(port, "GET", "/v1/endpoints")).status == 401);
  CHECK(answers
            .keep(hookd::test::http(port, "GET", "/v1/endpoints", "",
                                    {{"Authorization", "Bearer wrong-token"}}))
            .status == 401);
  auto endpoints = answers.keep(hookd::test::http(port, "GET", "/v1/endpoints", "", admin));
  INFO(endpoints.body);
  REQUIRE(endpoints.status == 200);
  const auto failed_before = endpoint_number(endpoints.body, "down", "failed_total");
  auto replay =
      answers.keep(hookd::test::post_json(port, "/v1/endpoints/down/replay", "{}", admin));
  INFO(replay.body);
  CHECK(replay.status == 202);
  bool failed_again = hookd::test::wait_until([&] {
    auto now = hookd::test::http(port, "GET", "/v1/endpoints", "", admin);
    return now.status == 200 &&
           endpoint_number(now.body, "down", "failed_total") >= failed_before + 6 &&
           endpoint_number(now.body, "down", "dead_letters") == 2 &&
           endpoint_number(now.body, "down", "in_flight") == 0;
  });
  CHECK(failed_again);
  answers.keep(hookd::test::http(port, "GET", "/v1/endpoints", "", admin));

  answers.keep(hookd::test::http(port, "GET", "/healthz"));
  answers.keep(hookd::test::http(port, "GET", "/readyz"));
  answers.keep(hookd::test::http(port, "GET", "/metrics"));
  answers.keep(hookd::test::http(port, "GET", "/v1/events/msg_secrets_open", "", admin));
  CHECK(daemon.terminate() == 0);

  const fs::path data = daemon.data_dir();
  const std::string log = daemon.log();
  for (const char* part : {"journal", "runbooks/repo", "delivery/down.dead-letters.jsonl"}) {
    INFO(part);
    REQUIRE(fs::exists(data / part));  // the search below had these to look at
  }
  for (const auto& [what, needle] : c.needles()) {
    INFO(what << ": " << needle);
    std::string files;
    for (const auto& file : hookd::test::files_containing(data, needle))
      files += file.string() + "\n";
    INFO("files holding it:\n" << files);
    CHECK(files.empty());
    CHECK(log.find(needle) == std::string::npos);
    for (const auto& text : answers.texts) {
      INFO(text);
      CHECK(text.find(needle) == std::string::npos);
    }
  }
}
