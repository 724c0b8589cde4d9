// Conformance against peers no one here wrote: Prometheus' own checker reads
// /metrics, and the Standard Webhooks reference library (JavaScript, run by
// node) verifies what hookd signs and signs what hookd verifies.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/support.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::fixture;
using hookd::test::fixtures_dir;
using hookd::test::free_port;
using hookd::test::post_json;
using hookd::test::read_file;
using hookd::test::run_command;
using hookd::test::TempDir;
using hookd::test::wait_until;
using hookd::test::write_file;

namespace {

const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string kNode = "/usr/bin/node";
const std::string kNodePath = HOOKD_SOURCE_DIR "/.peers/node_modules";
const std::string kPeers = HOOKD_SOURCE_DIR "/test/peers";

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

// The node receiver verifying with the reference library under `secret`.
struct Receiver {
  TempDir dir;
  fs::path log_file = dir.path() / "requests.jsonl";
  fs::path port_file = dir.path() / "port";
  fs::path output = dir.path() / "node.out";
  hookd::test::ChildProcess child;
  unsigned short port = 0;

  explicit Receiver(const std::string& secret)
      : child({kNode, kPeers + "/verify_receiver.js", "0", secret, log_file.string(),
               port_file.string()},
              output, {"NODE_PATH=" + kNodePath}) {
    REQUIRE(child.pid() > 0);
    bool listening = wait_until([&] { return fs::exists(port_file) || !child.running(); });
    INFO(read_file(output));
    REQUIRE(listening);
    REQUIRE(fs::exists(port_file));
    port = static_cast<unsigned short>(std::stoi(read_file(port_file)));
  }

  std::vector<boost::json::object> records() const {
    std::vector<boost::json::object> out;
    if (!fs::exists(log_file)) return out;
    std::istringstream lines(read_file(log_file));
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  }
};

std::vector<std::string> accepted_ids(const hookd::test::Reply& reply) {
  std::vector<std::string> ids;
  boost::json::value body = boost::json::parse(reply.body);
  for (const auto& id : body.at("ids").as_array())
    ids.emplace_back(id.as_string());
  return ids;
}

// Posts the four-event batch and both session fixtures; returns every id.
std::set<std::string> post_fixtures(unsigned short port) {
  std::set<std::string> ids;
  for (const char* name :
       {"events-batch.json", "session-open.event.json", "session-close.event.json"}) {
    auto reply = post_json(port, "/v1/events", fixture(name));
    INFO(name << ": " << reply.body);
    REQUIRE(reply.status == 202);
    for (auto& id : accepted_ids(reply))
      ids.insert(id);
  }
  REQUIRE(ids.size() == 6);
  return ids;
}

// The Standard Webhooks headers the reference library makes for `body_file`.
std::vector<std::pair<std::string, std::string>> reference_headers(const std::string& secret,
                                                                   const std::string& msg_id,
                                                                   const fs::path& body_file) {
  std::string output;
  int rc = run_command("NODE_PATH=" + quote(kNodePath) + " " + kNode + " " +
                           quote(kPeers + "/sign.js") + " " + quote(secret) + " " + quote(msg_id) +
                           " " + quote(body_file.string()) + " 2>&1",
                       &output);
  INFO(output);
  REQUIRE(rc == 0);
  std::vector<std::pair<std::string, std::string>> headers;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
  }
  REQUIRE(headers.size() == 3);
  return headers;
}

void git(const fs::path& repo, const std::string& args) {
  std::string output;
  int rc = run_command("git -C " + quote(repo.string()) +
                           " -c user.name=hookd-test -c user.email=test@example.com"
                           " -c commit.gpgsign=false " +
                           args + " 2>&1",
                       &output);
  INFO(output);
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("/metrics passes promtool check metrics", "[conformance][prometheus]") {
  TempDir runbooks;
  fs::path repo = runbooks.path() / "runbooks";
  fs::create_directories(repo / "hoop-hooks");
  fs::copy_file(fixtures_dir() / "hoop-hooks" / "session-open.runbook.py",
                repo / "hoop-hooks" / "session-open.runbook.py");
  git(repo, "init -q -b main");
  git(repo, "add -A");
  git(repo, "commit -q -m runbooks");

  DaemonOptions options;
  options.args = {"--endpoint",
                  "name=siem,url=http://127.0.0.1:" + std::to_string(free_port()) + "/",
                  "--retry-schedule",
                  "100ms",
                  "--git-url",
                  repo.string(),
                  "--git-hook-config-ttl",
                  "60",
                  "--hook-interpreter",
                  "/usr/bin/python3"};
  Daemon daemon(hookd::test::with_read_token(options));
  auto port = daemon.port();

  std::set<std::string> ids = post_fixtures(port);
  CHECK(post_json(port, "/v1/events", "{not json").status == 400);
  CHECK(post_json(port, "/v1/events", R"({"type":"session.open"})").status == 400);
  CHECK(hookd::test::http(port, "POST", "/v1/events", "{}", {{"Content-Type", "text/plain"}})
            .status == 415);
  CHECK(hookd::test::authorized_get(port, "/v1/events/evt_never_posted").status == 404);
  CHECK(hookd::test::http(port, "GET", "/no/such/route").status == 404);

  // The session-open hook has run (so hook metrics exist) and delivery has
  // failed at least once against the closed port (so retry metrics exist).
  const std::string open_id = "evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A";
  REQUIRE(ids.count(open_id) == 1);
  bool hooked = wait_until(
      [&] {
        auto reply = hookd::test::authorized_get(port, "/v1/events/" + open_id);
        if (reply.status != 200) return false;
        auto view = boost::json::parse(reply.body).as_object();
        auto it = view.find("hook");
        return it != view.end() && it->value().is_object() &&
               it->value().as_object().at("outcome") != "running";
      },
      30s);
  INFO(daemon.log());
  REQUIRE(hooked);

  TempDir scrape;
  fs::path file = scrape.path() / "metrics.txt";
  hookd::test::Reply metrics;
  bool delivery_failed = wait_until(
      [&] {
        metrics = hookd::test::http(port, "GET", "/metrics");
        if (metrics.status != 200) return false;
        const std::string failed =
            R"(hookd_delivery_attempts_total{endpoint="siem",outcome="transport_error"} )";
        auto at = metrics.body.find(failed);
        return at != std::string::npos && metrics.body.compare(at + failed.size(), 2, "0\n") != 0;
      },
      10s);
  CHECK(delivery_failed);
  REQUIRE(metrics.status == 200);
  CHECK(metrics.headers["content-type"].find("text/plain") == 0);
  write_file(file, metrics.body);

  std::string output;
  int rc = run_command("promtool check metrics < " + quote(file.string()) + " 2>&1", &output);
  INFO("promtool output:\n" << output);
  CHECK(rc == 0);
  CHECK(output.empty());
}

TEST_CASE("outbound signatures verify with the Standard Webhooks reference library",
          "[conformance][standard-webhooks]") {
  Receiver receiver(kSecret);
  DaemonOptions options;
  options.args = {
      "--endpoint",
      "name=ref,url=http://127.0.0.1:" + std::to_string(receiver.port) + "/,secret=" + kSecret,
      "--retry-schedule", "100ms"};
  Daemon daemon(hookd::test::with_read_token(options));

  std::set<std::string> ids = post_fixtures(daemon.port());

  bool delivered = wait_until([&] { return receiver.records().size() >= ids.size(); }, 30s);
  INFO(read_file(receiver.output));
  INFO(daemon.log());
  REQUIRE(delivered);

  std::set<std::string> seen;
  for (const auto& record : receiver.records()) {
    INFO(boost::json::serialize(record));
    CHECK(record.at("ok") == true);
    REQUIRE(record.at("id").is_string());
    std::string id(record.at("id").as_string());
    CHECK(ids.count(id) == 1);
    // The signed body names the same event as the webhook-id header.
    REQUIRE(record.contains("body_id"));
    CHECK(record.at("body_id") == boost::json::value(id));
    seen.insert(id);
  }
  CHECK(seen == ids);
}

TEST_CASE("inbound: reference-signed requests are accepted, tampered ones refused",
          "[conformance][standard-webhooks]") {
  DaemonOptions options;
  options.env = {"HOOKD_INBOUND_SECRET=" + kSecret};
  Daemon daemon(hookd::test::with_read_token(options));
  auto port = daemon.port();

  // Without its own "id", the event takes the webhook-id as its id.
  auto event = boost::json::parse(fixture("session-open.event.json")).as_object();
  event.erase("id");
  const std::string body = boost::json::serialize(event);
  const std::string msg_id = "msg_conformance_2hK8yQ4d";

  TempDir dir;
  write_file(dir.path() / "body.json", body);
  auto headers = reference_headers(kSecret, msg_id, dir.path() / "body.json");

  // One byte changed, same headers.
  std::string tampered = body;
  auto at = tampered.find("alice@example.com");
  REQUIRE(at != std::string::npos);
  tampered[at] = 'A';
  auto refused = post_json(port, "/v1/events", tampered, headers);
  INFO(refused.body);
  CHECK(refused.status == 401);
  CHECK(hookd::test::authorized_get(port, "/v1/events/" + msg_id).status == 404);

  auto first = post_json(port, "/v1/events", body, headers);
  INFO(first.body);
  REQUIRE(first.status == 202);
  CHECK(accepted_ids(first) == std::vector<std::string>{msg_id});

  auto again = post_json(port, "/v1/events", body, headers);
  INFO(again.body);
  CHECK(again.status == 200);

  auto stored = hookd::test::authorized_get(port, "/v1/events/" + msg_id);
  INFO(stored.body);
  REQUIRE(stored.status == 200);
  auto view = boost::json::parse(stored.body).as_object();
  CHECK(view.at("id") == boost::json::value(msg_id));
  CHECK(view.at("type") == "session.open");
  CHECK(view.at("payload") == event.at("payload"));

  // The other way round: a signature the reference library makes with a
  // different secret must not pass.
  auto wrong = reference_headers("whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldA==", "msg_conformance_other",
                                 dir.path() / "body.json");
  CHECK(post_json(port, "/v1/events", body, wrong).status == 401);
}
