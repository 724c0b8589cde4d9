// Messages made through the Svix API reach the endpoints made through it, as
// Svix delivers them: the official Svix JavaScript SDK drives the real
// daemon, and receivers that verify every request with the same SDK's
// `Webhook.verify` answer over TLS (a CA made here, given to hookd with
// --api-endpoint-ca). Attempts, resend, recover, disable, delete, secret
// rotation, restarts and kill -9.
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/core/signature.h"
#include "support/certificates.h"
#include "support/support.h"

namespace fs = std::filesystem;
namespace json = boost::json;
using hookd::test::ChildProcess;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TempDir;
using hookd::test::TestCertificates;
using hookd::test::wait_until;
using namespace std::chrono_literals;

namespace {

const std::string kNode = "/usr/bin/node";
const std::string kSvixModule = HOOKD_SOURCE_DIR "/.peers/node_modules/svix/dist/index.mjs";
const std::string kDriver = HOOKD_SOURCE_DIR "/test/peers/svix_delivery_driver.mjs";
const std::string kReceiver = HOOKD_SOURCE_DIR "/test/peers/svix_receiver.mjs";
const std::string kToken = "hookd-delivery-test-token";

std::string secret_for(const std::string& name) {
  return "whsec_" + hookd::base64_encode("hookd delivery test secret: " + name);
}

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// One certificate authority and a server certificate for 127.0.0.1.
struct Tls {
  Tls() {
    certs.make_ca("ca");
    certs.make_leaf("receiver", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  }
  TestCertificates certs;
};

// test/peers/svix_receiver.mjs over HTTPS: what it got, verified how.
class Receiver {
 public:
  Receiver(const Tls& tls, std::vector<std::string> secrets, int fail_first = 0) {
    fs::path port_file = dir_.path() / "port";
    log_ = dir_.path() / "requests.jsonl";
    std::vector<std::string> args{kNode,          kReceiver,
                                  "--port-file",  port_file.string(),
                                  "--log",        log_.string(),
                                  "--cert",       tls.certs.pem("receiver").string(),
                                  "--key",        tls.certs.key("receiver").string(),
                                  "--fail-first", std::to_string(fail_first)};
    for (const auto& secret : secrets) {
      args.push_back("--secret");
      args.push_back(secret);
    }
    process_ = ChildProcess(args, dir_.path() / "receiver.log", {"SVIX_MODULE=" + kSvixModule});
    bool up = wait_until(
        [&] { return fs::exists(port_file) && !hookd::test::read_file(port_file).empty(); });
    INFO(hookd::test::read_file(dir_.path() / "receiver.log"));
    REQUIRE(up);
    port_ = std::stoi(hookd::test::read_file(port_file));
  }

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hook"; }

  std::vector<json::object> records() const {
    std::vector<json::object> out;
    if (!fs::exists(log_)) return out;
    std::istringstream in(hookd::test::read_file(log_));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(json::parse(line).as_object());
    }
    return out;
  }

  // Message ids answered 200, each once, with how many times each came.
  std::map<std::string, int> delivered() const {
    std::map<std::string, int> out;
    for (const auto& r : records()) {
      if (r.at("status").as_int64() == 200) ++out[std::string(r.at("id").as_string())];
    }
    return out;
  }

  bool has(const std::vector<std::string>& ids) const {
    auto got = delivered();
    for (const auto& id : ids) {
      if (!got.count(id)) return false;
    }
    return true;
  }

 private:
  TempDir dir_;
  fs::path log_;
  ChildProcess process_;
  int port_ = 0;
};

DaemonOptions daemon_options(const Tls& tls, std::vector<std::string> extra = {}) {
  DaemonOptions options;
  options.args = {"--api-endpoint-ca", tls.certs.pem("ca").string()};
  options.args.insert(options.args.end(), extra.begin(), extra.end());
  options.env = {"HOOKD_API_TOKEN=" + kToken};
  return options;
}

// Runs one driver step; returns its RESULT.
json::value sdk(const Daemon& daemon, const fs::path& state, const std::string& command,
                const std::string& args = "{}") {
  std::string output;
  int rc = hookd::test::run_command(
      "SVIX_MODULE=" + quote(kSvixModule) + " " + kNode + " " + quote(kDriver) + " " +
          quote("http://127.0.0.1:" + std::to_string(daemon.port())) + " " + quote(kToken) + " " +
          command + " " + quote(state.string()) + " " + quote(args) + " 2>&1",
      &output);
  INFO(command << " " << args << "\n" << output);
  REQUIRE(rc == 0);
  auto at = output.rfind("RESULT ");
  REQUIRE(at != std::string::npos);
  return json::parse(output.substr(at + 7));
}

// The setup step's arguments for one event type and one endpoint.
std::string one_endpoint(const std::string& event_type, const std::string& name,
                         const std::string& url) {
  return json::serialize(json::object{
      {"eventTypes", json::array{event_type}},
      {"endpoints",
       json::array{json::object{{"name", name}, {"url", url}, {"secret", secret_for(name)}}}}});
}

// The state GET /v1/events/{id} shows for one API endpoint ("" for none).
std::string delivery_state(const Daemon& daemon, const std::string& id,
                           const std::string& endpoint) {
  auto reply = hookd::test::http(daemon.port(), "GET", "/v1/events/" + id, "",
                                 hookd::test::bearer_auth(kToken));
  if (reply.status != 200) return {};
  json::value status = json::parse(reply.body);
  auto view = status.as_object().if_contains("api_deliveries");
  auto mine = view && view->is_object() ? view->as_object().if_contains(endpoint) : nullptr;
  return mine ? std::string(mine->at("state").as_string()) : std::string();
}

std::string id_of(const json::value& result, const std::string& name) {
  return std::string(result.at(name).as_string());
}

std::vector<json::object> attempts(const json::value& page) {
  std::vector<json::object> out;
  for (const auto& a : page.at("data").as_array())
    out.push_back(a.as_object());
  return out;
}

std::string metrics_text(const Daemon& daemon) {
  return hookd::test::http(daemon.port(), "GET", "/metrics").body;
}

json::object record_of(const Receiver& receiver, const std::string& id) {
  for (const auto& r : receiver.records()) {
    if (r.at("id").as_string() == id && r.at("status").as_int64() == 200) return r;
  }
  FAIL("no delivery of " << id);
  return {};
}

}  // namespace

TEST_CASE(
    "messages made with the Svix SDK reach exactly the matching endpoints signed as Svix signs",
    "[svix_delivery][sdk]") {
  REQUIRE(fs::exists(kSvixModule));  // installed by tools/setup
  Tls tls;
  Receiver all(tls, {secret_for("all")}), open(tls, {secret_for("open")}),
      prod(tls, {secret_for("prod")});
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  DaemonOptions options = daemon_options(tls);
  options.data_dir = dir.path() / "data";
  Daemon daemon(options);

  json::object setup{
      {"eventTypes", json::array{"session.open", "session.close", "user.signup"}},
      {"endpoints",
       json::array{json::object{{"name", "all"},
                                {"url", all.url()},
                                {"secret", secret_for("all")},
                                {"headers", json::object{{"X-Team", "sec"},
                                                         {"Authorization", "Bearer siem"}}}},
                   json::object{{"name", "open"},
                                {"url", open.url()},
                                {"secret", secret_for("open")},
                                {"filterTypes", json::array{"session.open"}}},
                   json::object{{"name", "prod"},
                                {"url", prod.url()},
                                {"secret", secret_for("prod")},
                                {"channels", json::array{"prod"}}}}}};
  json::value endpoints = sdk(daemon, state, "setup", json::serialize(setup));

  // A plain /v1/events event belongs to no application: no API endpoint gets it.
  auto plain = hookd::test::post_json(daemon.port(), "/v1/events",
                                      R"({"id":"plain-1","type":"session.open","payload":{}})");
  REQUIRE(plain.status == 202);

  json::array messages{
      json::object{{"name", "m1"},
                   {"eventType", "session.open"},
                   {"payload", json::object{{"id", "sess-1"}, {"verb", "exec"}, {"n", 1.5}}},
                   {"channels", json::array{"prod", "eu"}}},
      json::object{{"name", "m2"}, {"eventType", "session.close"}, {"payload", {{"id", "sess-1"}}}},
      json::object{{"name", "m3"},
                   {"eventType", "user.signup"},
                   {"payload", {{"email", "a@example.com"}}},
                   {"channels", json::array{"dev"}}},
      json::object{{"name", "m4"}, {"eventType", "session.open"}, {"payload", {{"id", "sess-2"}}}},
      // Goes everywhere: once a worker has it, it has read (and filtered)
      // everything before it.
      json::object{{"name", "marker"},
                   {"eventType", "session.open"},
                   {"payload", {{"marker", true}}},
                   {"channels", json::array{"prod"}}}};
  json::value ids =
      sdk(daemon, state, "send", json::serialize(json::object{{"messages", messages}}));
  const std::string m1 = id_of(ids, "m1"), m2 = id_of(ids, "m2"), m3 = id_of(ids, "m3"),
                    m4 = id_of(ids, "m4"), marker = id_of(ids, "marker");

  INFO(daemon.log().substr(0, 6000));
  REQUIRE(wait_until([&] { return all.has({m1, m2, m3, m4, marker}); }));
  REQUIRE(wait_until([&] { return open.has({m1, m4, marker}); }));
  REQUIRE(wait_until([&] { return prod.has({m1, marker}); }));
  CHECK(open.delivered().size() == 3);  // not m2 (type), not m3 (type)
  CHECK(prod.delivered().size() == 2);  // not m2, m4 (no channel), not m3 (other channel)

  // Every request verifies with the official library, body exactly the payload.
  for (const Receiver* receiver : {&all, &open, &prod}) {
    for (const auto& r : receiver->records()) {
      INFO(json::serialize(r));
      CHECK(r.at("verified").as_array().at(0) == json::value(true));
      CHECK(r.at("id").as_string().starts_with("msg_"));
      CHECK(r.at("headers").at("content-type") == "application/json");
      CHECK(r.at("headers").at("user-agent").as_string().starts_with("hookd/"));
    }
  }
  CHECK(record_of(all, m1).at("body") == json::parse(R"({"id":"sess-1","verb":"exec","n":1.5})"));
  CHECK(record_of(open, m4).at("body") == json::parse(R"({"id":"sess-2"})"));
  json::object headers = record_of(all, m2).at("headers").as_object();
  CHECK(headers.at("x-team") == "sec");
  CHECK(headers.at("authorization") == "Bearer siem");
  CHECK(!record_of(open, m1).at("headers").as_object().contains("x-team"));

  // Attempts, listed through the SDK.
  auto by_m1 = attempts(sdk(daemon, state, "attempts-by-msg", R"({"msg":"m1"})"));
  REQUIRE(by_m1.size() == 3);
  std::set<std::string> endpoints_of_m1;
  for (const auto& a : by_m1) {
    INFO(json::serialize(a));
    endpoints_of_m1.insert(std::string(a.at("endpointId").as_string()));
    CHECK(a.at("msgId").as_string() == m1);
    CHECK(a.at("status") == 0);
    CHECK(a.at("statusText") == "success");
    CHECK(a.at("triggerType") == 0);
    CHECK(a.at("responseStatusCode") == 200);
    CHECK(a.at("response") == "ok");
    CHECK(a.at("id").as_string().starts_with("atmpt_"));
  }
  CHECK(endpoints_of_m1 == std::set<std::string>{id_of(endpoints, "all"), id_of(endpoints, "open"),
                                                 id_of(endpoints, "prod")});
  auto by_m2 = attempts(sdk(daemon, state, "attempts-by-msg", R"({"msg":"m2"})"));
  REQUIRE(by_m2.size() == 1);
  CHECK(by_m2[0].at("endpointId").as_string() == id_of(endpoints, "all"));
  CHECK(attempts(sdk(daemon, state, "attempts-by-msg", R"({"msg":"m1","status":2})")).empty());
  auto by_all = attempts(
      sdk(daemon, state, "attempts-by-endpoint", R"({"endpoint":"all","withMsg":true,"limit":2})"));
  CHECK(by_all.size() == 5);
  CHECK(by_all.back().at("msg").at("eventType") == "session.open");

  // GET /v1/events/{id} shows the API endpoints' side too.
  auto status = hookd::test::http(daemon.port(), "GET", "/v1/events/" + m1, "",
                                  hookd::test::bearer_auth(kToken));
  CHECK(status.body.find(id_of(endpoints, "prod")) != std::string::npos);

  // Resend: a manual attempt, through the filter that kept m2 from "open".
  sdk(daemon, state, "resend", R"({"msg":"m2","endpoint":"open"})");
  REQUIRE(wait_until([&] { return open.has({m2}); }));
  CHECK(record_of(open, m2).at("verified").as_array().at(0) == json::value(true));
  json::value manual;
  REQUIRE(wait_until([&] {
    manual = sdk(daemon, state, "attempts-by-msg", R"({"msg":"m2","endpoint":"open"})");
    return attempts(manual).size() == 1;
  }));
  CHECK(attempts(manual)[0].at("triggerType") == 1);

  SECTION("the attempts are there after a restart") {
    REQUIRE(daemon.terminate() == 0);
    daemon.restart();
    CHECK(attempts(sdk(daemon, state, "attempts-by-msg", R"({"msg":"m1"})")).size() == 3);
    CHECK(attempts(sdk(daemon, state, "attempts-by-endpoint", R"({"endpoint":"all"})")).size() ==
          5);
    // ... and nothing already delivered is sent again.
    sdk(daemon, state, "send",
        R"({"messages":[{"name":"after","eventType":"session.open","payload":{},"channels":["prod"]}]})");
    std::string after = std::string(
        json::parse(hookd::test::read_file(state)).at("messages").at("after").as_string());
    REQUIRE(wait_until([&] { return all.has({after}) && prod.has({after}); }));
    CHECK(all.records().size() == 6);
  }
  CHECK(daemon.log().find("whsec_") == std::string::npos);
}

TEST_CASE("after a secret rotation the old and the new secret both verify",
          "[svix_delivery][rotation]") {
  Tls tls;
  const std::string old_key = secret_for("before rotation"), new_key = secret_for("after rotation");
  Receiver receiver(tls, {old_key, new_key});
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  Daemon daemon(daemon_options(tls));
  sdk(daemon, state, "setup",
      json::serialize(json::object{
          {"eventTypes", json::array{"session.open"}},
          {"endpoints", json::array{json::object{
                            {"name", "rot"}, {"url", receiver.url()}, {"secret", old_key}}}}}));
  auto before =
      id_of(sdk(daemon, state, "send",
                R"({"messages":[{"name":"r1","eventType":"session.open","payload":{}}]})"),
            "r1");
  REQUIRE(wait_until([&] { return receiver.has({before}); }));
  auto first = record_of(receiver, before);
  CHECK(first.at("verified").as_array().at(0) == json::value(true));
  CHECK(first.at("verified").as_array().at(1).is_string());  // not yet the new key

  sdk(daemon, state, "rotate",
      json::serialize(json::object{{"endpoint", "rot"}, {"key", new_key}}));
  auto after = id_of(sdk(daemon, state, "send",
                         R"({"messages":[{"name":"r2","eventType":"session.open","payload":{}}]})"),
                     "r2");
  REQUIRE(wait_until([&] { return receiver.has({after}); }));
  auto second = record_of(receiver, after);
  INFO(json::serialize(second));
  CHECK(second.at("verified").as_array().at(0) == json::value(true));
  CHECK(second.at("verified").as_array().at(1) == json::value(true));
  std::string signature(second.at("signature").as_string());
  CHECK(std::count(signature.begin(), signature.end(), ' ') == 1);  // two "v1,..." entries
}

TEST_CASE("a disabled endpoint gets its backlog once enabled and a deleted one gets nothing",
          "[svix_delivery][lifecycle]") {
  Tls tls;
  Receiver keep(tls, {secret_for("keep")}), paused(tls, {secret_for("paused")}),
      doomed(tls, {secret_for("doomed")});
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  Daemon daemon(daemon_options(tls));
  auto endpoints = sdk(
      daemon, state, "setup",
      json::serialize(json::object{
          {"eventTypes", json::array{"session.open"}},
          {"endpoints",
           json::array{
               json::object{{"name", "keep"}, {"url", keep.url()}, {"secret", secret_for("keep")}},
               json::object{
                   {"name", "paused"}, {"url", paused.url()}, {"secret", secret_for("paused")}},
               json::object{{"name", "doomed"},
                            {"url", doomed.url()},
                            {"secret", secret_for("doomed")}}}}}));
  const std::string doomed_id = id_of(endpoints, "doomed"), paused_id = id_of(endpoints, "paused");

  auto disabled = sdk(daemon, state, "patch", R"({"endpoint":"paused","patch":{"disabled":true}})");
  CHECK(disabled.at("disabled") == true);
  auto d1 =
      id_of(sdk(daemon, state, "send",
                R"({"messages":[{"name":"d1","eventType":"session.open","payload":{"d":1}}]})"),
            "d1");
  REQUIRE(wait_until([&] { return keep.has({d1}) && doomed.has({d1}); }));
  CHECK(metrics_text(daemon).find("consumer=\"api:" + doomed_id + "\"") != std::string::npos);

  sdk(daemon, state, "delete", R"({"endpoint":"doomed"})");
  auto d2 =
      id_of(sdk(daemon, state, "send",
                R"({"messages":[{"name":"d2","eventType":"session.open","payload":{"d":2}}]})"),
            "d2");
  REQUIRE(wait_until([&] { return keep.has({d2}); }));
  // The deleted endpoint's consumer and series go; it never gets d2.
  REQUIRE(wait_until([&] {
    std::string text = metrics_text(daemon);
    return text.find("consumer=\"api:" + doomed_id + "\"") == std::string::npos &&
           text.find("hookd_delivery_backlog{endpoint=\"" + doomed_id + "\"") == std::string::npos;
  }));
  CHECK(!doomed.delivered().count(d2));
  CHECK(paused.records().empty());
  CHECK(attempts(sdk(daemon, state, "attempts-by-msg",
                     json::serialize(json::object{{"msg", d1}, {"endpoint", paused_id}})))
            .empty());

  // Enabled again: the backlog comes, d1 and d2.
  sdk(daemon, state, "patch", R"({"endpoint":"paused","patch":{"disabled":false}})");
  REQUIRE(wait_until([&] { return paused.has({d1, d2}); }));
  CHECK(!doomed.delivered().count(d2));
  INFO(daemon.log().substr(0, 4000));
  CHECK(daemon.log().find("svix delivery: endpoint deleted") != std::string::npos);
}

TEST_CASE("recover re-sends an endpoint's failed messages as manual attempts",
          "[svix_delivery][recover]") {
  Tls tls;
  // Four failures: both attempts of each of the two messages.
  Receiver flaky(tls, {secret_for("flaky")}, 4);
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  Daemon daemon(daemon_options(tls, {"--retry-schedule", "100ms", "--retry-jitter", "0"}));
  auto endpoints = sdk(daemon, state, "setup", one_endpoint("session.close", "flaky", flaky.url()));
  const std::string endpoint = id_of(endpoints, "flaky");
  auto ids = sdk(daemon, state, "send",
                 R"({"messages":[{"name":"f1","eventType":"session.close","payload":{"f":1}},
                                 {"name":"f2","eventType":"session.close","payload":{"f":2}}]})");
  const std::vector<std::string> failed{id_of(ids, "f1"), id_of(ids, "f2")};
  // Both given up: GET /v1/events/{id} says dead_letter for the endpoint.
  for (const auto& id : failed) {
    REQUIRE(wait_until([&] { return delivery_state(daemon, id, endpoint) == "dead_letter"; }));
  }
  auto failures =
      attempts(sdk(daemon, state, "attempts-by-endpoint", R"({"endpoint":"flaky","status":2})"));
  REQUIRE(failures.size() == 4);
  CHECK(failures[0].at("responseStatusCode") == 500);
  CHECK(failures[0].at("response").as_string().starts_with("failing on purpose"));
  CHECK(flaky.delivered().empty());

  sdk(daemon, state, "recover", R"({"endpoint":"flaky","sinceMsAgo":3600000})");
  REQUIRE(wait_until([&] { return flaky.has(failed); }));
  json::value recovered;
  REQUIRE(wait_until([&] {
    recovered = sdk(daemon, state, "attempts-by-endpoint", R"({"endpoint":"flaky","status":0})");
    return attempts(recovered).size() == 2;
  }));
  for (const auto& a : attempts(recovered))
    CHECK(a.at("triggerType") == 1);
  // Delivered now, they are failed no longer.
  for (const auto& id : failed) {
    REQUIRE(wait_until([&] { return delivery_state(daemon, id, endpoint) == "delivered"; }));
  }
}

TEST_CASE("an API endpoint failing for --endpoint-disable-after is disabled",
          "[svix_delivery][disable]") {
  Tls tls;
  Receiver broken(tls, {secret_for("broken")}, 1000000);
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  Daemon daemon(
      daemon_options(tls, {"--endpoint-disable-after", "1s", "--retry-schedule",
                           "400ms,400ms,400ms,400ms,400ms,400ms", "--retry-jitter", "0"}));
  sdk(daemon, state, "setup", one_endpoint("session.open", "broken", broken.url()));
  sdk(daemon, state, "send",
      R"({"messages":[{"name":"b1","eventType":"session.open","payload":{}}]})");
  REQUIRE(wait_until([&] {
    return sdk(daemon, state, "get", R"({"endpoint":"broken"})").at("disabled") == true;
  }));
  CHECK(daemon.log().find("svix api: endpoint disabled") != std::string::npos);
  CHECK(metrics_text(daemon).find("hookd_api_endpoints_disabled_total 1") != std::string::npos);
}

TEST_CASE("kill -9 after acknowledged creates loses no message", "[svix_delivery][durability]") {
  Tls tls;
  Receiver receiver(tls, {secret_for("durable")});
  TempDir dir;
  fs::path state = dir.path() / "state.json";
  DaemonOptions options = daemon_options(tls);
  options.data_dir = dir.path() / "data";
  Daemon daemon(options);
  sdk(daemon, state, "setup", one_endpoint("session.open", "durable", receiver.url()));
  json::value created =
      sdk(daemon, state, "bulk", R"({"count":300,"eventType":"session.open","concurrency":8})");
  daemon.kill9();
  std::vector<std::string> ids;
  for (const auto& id : created.as_array())
    ids.emplace_back(id.as_string());
  REQUIRE(ids.size() == 300);
  daemon.restart();
  INFO(daemon.log().substr(0, 4000));
  REQUIRE(wait_until([&] { return receiver.has(ids); }, 60s));
  int duplicates = 0;
  for (const auto& [id, times] : receiver.delivered())
    duplicates += times - 1;
  WARN("kill -9 with 300 acknowledged messages: all delivered, " << duplicates
                                                                 << " delivered twice");
  for (const auto& r : receiver.records())
    CHECK(r.at("verified").as_array().at(0) == json::value(true));
  // The attempts API answers after the crash. A receiver holds a delivery
  // before hookd has its answer, so the attempt is stored a little after.
  CHECK(wait_until([&] {
    return !attempts(sdk(daemon, state, "attempts-by-endpoint", R"({"endpoint":"durable"})"))
                .empty();
  }));
}
