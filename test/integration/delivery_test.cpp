// Delivery end to end: the real hookd with --endpoint flags sending to real
// hookd-sink processes (HTTP and HTTPS with certificates made here by the
// openssl CLI): signatures, TLS verification, retries under injected faults,
// kill -9 and restart, 410, dead letters and replay, filters, batch formats.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hookd/core/event.h"
#include "support/support.h"

namespace {

namespace json = boost::json;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TempDir;
using namespace std::chrono_literals;

const char* const kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const char* const kAdminToken = "test-admin-token";

// One hookd-sink process, stopped (SIGTERM, summary written) on destruction.
class Sink {
 public:
  Sink(std::vector<std::string> flags, unsigned short port = 0) : flags_(std::move(flags)) {
    port_ = port;
    start();
  }
  ~Sink() { stop(); }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  unsigned short port() const { return port_; }
  std::filesystem::path record_path() const { return dir_.path() / "record.jsonl"; }

  // Every record line: {"id","webhook_id","attempt","status","format",...}.
  std::vector<json::object> records() const {
    std::vector<json::object> out;
    std::string text;
    if (std::filesystem::exists(record_path())) text = hookd::test::read_file(record_path());
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;  // a line still being written
      boost::system::error_code ec;
      json::value v = json::parse(text.substr(pos, nl - pos), ec);
      if (!ec && v.is_object()) out.push_back(v.as_object());
      pos = nl + 1;
    }
    return out;
  }

  // Ids the sink answered with 2xx.
  std::set<std::string> delivered() const {
    std::set<std::string> ids;
    for (const auto& r : records()) {
      std::int64_t status = r.at("status").as_int64();
      if (status >= 200 && status < 300) ids.insert(std::string(r.at("id").as_string()));
    }
    return ids;
  }

  json::object stats() const {
    auto reply = hookd::test::http(port_, "GET", "/stats");
    REQUIRE(reply.status == 200);
    return json::parse(reply.body).as_object();
  }

  // SIGTERM, wait, and the summary the sink wrote on exit.
  json::object stop() {
    if (process_.pid() <= 0) return summary_;
    process_.terminate();
    auto path = dir_.path() / "summary.json";
    if (std::filesystem::exists(path)) {
      boost::system::error_code ec;
      json::value v = json::parse(hookd::test::read_file(path), ec);
      if (!ec && v.is_object()) summary_ = v.as_object();
    }
    return summary_;
  }

  std::string log() const { return hookd::test::read_file(dir_.path() / "sink.log"); }

 private:
  void start() {
    auto port_file = dir_.path() / "port";
    std::vector<std::string> args = {
        HOOKD_SINK_BINARY,      "--listen",         "127.0.0.1:" + std::to_string(port_),
        "--port-file",          port_file.string(), "--record",
        record_path().string(), "--summary",        (dir_.path() / "summary.json").string()};
    args.insert(args.end(), flags_.begin(), flags_.end());
    process_ = hookd::test::ChildProcess(args, dir_.path() / "sink.log");
    bool up = hookd::test::wait_until(
        [&] {
          if (!std::filesystem::exists(port_file)) return false;
          return !hookd::test::read_file(port_file).empty();  // written atomically
        },
        10s);
    INFO(log());
    REQUIRE(up);
    port_ = static_cast<unsigned short>(std::stoi(hookd::test::read_file(port_file)));
  }

  TempDir dir_;
  std::vector<std::string> flags_;
  unsigned short port_ = 0;
  hookd::test::ChildProcess process_;
  json::object summary_;
};

// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA.
struct Certs {
  TempDir dir;
  std::string path(const std::string& name) const { return (dir.path() / name).string(); }
};

void run_openssl(const Certs& certs, const std::string& command) {
  std::string output;
  int rc = hookd::test::run_command("(cd '" + certs.dir.path().string() + "' && " + command + ")",
                                    &output);
  INFO(command << "\n" << output);
  REQUIRE(rc == 0);
}

// Made once per test binary; the directory goes at exit.
const Certs& certs() {
  static Certs c;
  static const bool made = [] {
    for (const char* ca : {"ca", "other-ca"}) {
      run_openssl(c,
                  std::string("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
                              " -nodes -days 2 -keyout ") +
                      ca + ".key -out " + ca + ".pem -subj '/CN=hookd test " + ca +
                      "' -addext basicConstraints=critical,CA:TRUE"
                      " -addext keyUsage=critical,keyCertSign,cRLSign");
    }
    hookd::test::write_file(c.dir.path() / "server.ext",
                            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                            "extendedKeyUsage=serverAuth\n");
    run_openssl(c,
                "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                " -keyout server.key -out server.csr -subj '/CN=127.0.0.1' &&"
                " openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial"
                " -days 2 -out server.pem -extfile server.ext");
    return true;
  }();
  (void)made;
  return c;
}

std::vector<std::pair<std::string, std::string>> admin() {
  return {{"Authorization", std::string("Bearer ") + kAdminToken}};
}

// Posts `count` events as one array; returns their ids.
std::vector<std::string> post_events(const Daemon& daemon, const std::string& prefix, int count,
                                     const std::vector<std::string>& types = {"session.open"}) {
  std::vector<std::string> ids;
  json::array body;
  for (int i = 0; i < count; ++i) {
    std::string id = prefix + "-" + std::to_string(i);
    json::object e;
    e["id"] = id;
    e["type"] = types[static_cast<std::size_t>(i) % types.size()];
    e["payload"] = json::object{{"sid", "s-" + std::to_string(i)}, {"n", i}};
    body.push_back(std::move(e));
    ids.push_back(id);
  }
  auto reply = hookd::test::post_json(daemon.port(), "/v1/events", json::serialize(body));
  INFO(reply.body);
  REQUIRE(reply.status == 202);
  return ids;
}

// GET /v1/events/{id} -> "deliveries" -> endpoint.
json::object delivery_of(const Daemon& daemon, const std::string& id, const std::string& endpoint) {
  auto reply = hookd::test::authorized_get(daemon.port(), "/v1/events/" + id);
  if (reply.status != 200) return {};
  boost::system::error_code ec;
  json::value v = json::parse(reply.body, ec);
  if (ec || !v.is_object()) return {};
  const auto* deliveries = v.as_object().if_contains("deliveries");
  if (!deliveries || !deliveries->is_object()) return {};
  const auto* one = deliveries->as_object().if_contains(endpoint);
  if (!one || !one->is_object()) return {};
  return one->as_object();
}

std::string state_of(const Daemon& daemon, const std::string& id, const std::string& endpoint) {
  json::object d = delivery_of(daemon, id, endpoint);
  const auto* s = d.if_contains("state");
  return s && s->is_string() ? std::string(s->as_string()) : "";
}

// The sink records an event before hookd has read its answer: wait for hookd.
bool all_in_state(const Daemon& daemon, const std::vector<std::string>& ids,
                  const std::string& endpoint, const std::string& state) {
  return hookd::test::wait_until([&] {
    for (const auto& id : ids) {
      if (state_of(daemon, id, endpoint) != state) return false;
    }
    return true;
  });
}

json::object endpoint_info(const Daemon& daemon, const std::string& name) {
  auto reply = hookd::test::http(daemon.port(), "GET", "/v1/endpoints", "", admin());
  REQUIRE(reply.status == 200);
  json::value all = json::parse(reply.body);
  for (const auto& e : all.as_array()) {
    if (e.as_object().at("name") == json::value(name)) return e.as_object();
  }
  FAIL("no endpoint " << name);
  return {};
}

std::int64_t number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  if (!v) return -1;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return -1;
}

bool contains_all(const std::set<std::string>& have, const std::vector<std::string>& want) {
  for (const auto& id : want) {
    if (have.count(id) == 0) return false;
  }
  return true;
}

// The value of one series on GET /metrics, or -1 when it is missing.
double metric(const Daemon& daemon, const std::string& series) {
  auto reply = hookd::test::http(daemon.port(), "GET", "/metrics");
  std::size_t pos = reply.body.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(reply.body.substr(pos + series.size() + 2));
}

}  // namespace

TEST_CASE("a TLS sink receives every event signed, and a wrong CA fails verification and retries") {
  const Certs& c = certs();
  Sink sink({"--cert", c.path("server.pem"), "--key", c.path("server.key"), "--secret", kSecret});
  const std::string url = "https://127.0.0.1:" + std::to_string(sink.port()) + "/hook";
  DaemonOptions options;
  options.args = {
      "--endpoint",
      "name=tls,url=" + url + ",secret=" + kSecret + ",ca=" + c.path("ca.pem"),
      "--endpoint",
      "name=wrongca,url=" + url + ",secret=" + kSecret + ",ca=" + c.path("other-ca.pem"),
      "--retry-schedule",
      "200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
      "--min-backoff",
      "0",
      "--admin-token",
      kAdminToken};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids = post_events(daemon, "tls", 20, {"session.open", "session.close"});

  REQUIRE(hookd::test::wait_until([&] { return contains_all(sink.delivered(), ids); }));
  for (const auto& r : sink.records()) {
    CHECK(r.at("webhook_id") == r.at("id"));
    CHECK(r.at("format") == "webhook");
  }
  CHECK(all_in_state(daemon, ids, "tls", "delivered"));
  json::object first = delivery_of(daemon, ids[0], "tls");
  REQUIRE(first.at("attempts").as_array().size() >= 1);
  CHECK(first.at("attempts").as_array().back().as_object().at("status") == 200);

  // The wrong CA: every attempt fails TLS verification, and is retried.
  REQUIRE(hookd::test::wait_until([&] {
    auto d = delivery_of(daemon, ids[0], "wrongca");
    return d.contains("attempts") && d.at("attempts").as_array().size() >= 2;
  }));
  json::object wrong = delivery_of(daemon, ids[0], "wrongca");
  CHECK(wrong.at("state") != "delivered");
  for (const auto& a : wrong.at("attempts").as_array()) {
    INFO(json::serialize(a));
    CHECK(a.as_object().at("status").is_null());
    CHECK(std::string(a.as_object().at("error").as_string()).rfind("tls:", 0) == 0);
  }
  json::object info = endpoint_info(daemon, "wrongca");
  CHECK(number(info, "delivered_total") == 0);
  CHECK(number(info, "failed_total") >= 2);
  CHECK(std::string(info.at("last_error").as_string()).rfind("tls:", 0) == 0);
  CHECK(number(endpoint_info(daemon, "tls"), "delivered_total") == 20);
  CHECK(metric(daemon,
               "hookd_delivery_attempts_total{endpoint=\"wrongca\",outcome=\"transport_error\"}") >=
        2);

  daemon.terminate();
  json::object summary = sink.stop();
  INFO(json::serialize(summary));
  CHECK(number(summary, "invalid_signatures") == 0);
  CHECK(number(summary, "unique_ids") == 20);
}

TEST_CASE("a sink failing half the time still gets every event, with a stable webhook-id") {
  // About half of the first 40 requests fail, none after: counted rather
  // than timed, so it holds however slowly the processes start. Seeded, so
  // the same draws come up every run.
  Sink sink({"--secret", kSecret, "--fail-rate", "0.5", "--fail-first", "40", "--seed", "7"});
  DaemonOptions options;
  options.args = {"--endpoint",
                  "name=flaky,url=http://127.0.0.1:" + std::to_string(sink.port()) +
                      "/in,secret=" + kSecret + ",connections=2",
                  "--retry-schedule",
                  "200ms,400ms,800ms,1600ms,3200ms,3200ms,3200ms,3200ms",
                  "--min-backoff",
                  "0"};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids = post_events(daemon, "flaky", 40);
  REQUIRE(hookd::test::wait_until([&] { return contains_all(sink.delivered(), ids); }, 60s));

  std::map<std::string, int> attempts;
  for (const auto& r : sink.records()) {
    CHECK(r.at("webhook_id") == r.at("id"));  // the same webhook-id on every attempt
    ++attempts[std::string(r.at("id").as_string())];
  }
  int retried = 0;
  for (const auto& [id, n] : attempts)
    retried += n > 1 ? 1 : 0;
  CHECK(retried > 0);  // the faults did happen
  for (const auto& id : ids)
    CHECK(state_of(daemon, id, "flaky") == "delivered");
  json::object summary = sink.stop();
  CHECK(number(summary, "invalid_signatures") == 0);
}

TEST_CASE("kill -9 mid-retry: every accepted event is delivered after the restart") {
  const unsigned short port = hookd::test::free_port();  // nothing listens yet
  DaemonOptions options;
  options.args = {"--endpoint",
                  "name=later,url=http://127.0.0.1:" + std::to_string(port) + "/in",
                  "--retry-schedule",
                  "300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,"
                  "300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms",
                  "--min-backoff",
                  "0",
                  "--admin-token",
                  kAdminToken};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids = post_events(daemon, "crash", 30, {"session.open", "session.close"});
  REQUIRE(hookd::test::wait_until([&] {
    auto d = delivery_of(daemon, ids.back(), "later");
    return d.contains("attempts") && d.at("attempts").as_array().size() >= 2;
  }));
  json::object d = delivery_of(daemon, ids.back(), "later");
  CHECK(d.at("state") == "pending");
  CHECK(std::string(d.at("attempts").as_array()[0].as_object().at("error").as_string())
            .rfind("connect:", 0) == 0);

  json::object info = endpoint_info(daemon, "later");
  CHECK(std::string(info.at("last_error").as_string()).rfind("connect:", 0) == 0);
  CHECK(info.at("next_attempt_at").is_string());
  CHECK(number(info, "backlog") == 30);

  daemon.kill9();
  Sink sink({}, port);
  daemon.restart();
  REQUIRE(hookd::test::wait_until([&] { return contains_all(sink.delivered(), ids); }));
  for (const auto& id : ids)
    CHECK(state_of(daemon, id, "later") == "delivered");
}

TEST_CASE("410 disables the endpoint until it is enabled again, then the backlog drains") {
  const unsigned short port = hookd::test::free_port();
  auto gone = std::make_unique<Sink>(std::vector<std::string>{"--gone"}, port);
  DaemonOptions options;
  options.args = {
      "--endpoint",       "name=gone,url=http://127.0.0.1:" + std::to_string(port) + "/in",
      "--retry-schedule", "100ms,100ms",
      "--min-backoff",    "0",
      "--admin-token",    kAdminToken};
  Daemon daemon(hookd::test::with_read_token(options));
  auto first = post_events(daemon, "gone-a", 5);
  REQUIRE(hookd::test::wait_until(
      [&] { return endpoint_info(daemon, "gone").at("state") == "disabled"; }));
  CHECK(metric(daemon, "hookd_delivery_disabled{endpoint=\"gone\"}") == 1);
  gone->stop();
  gone.reset();

  // Disabled is persisted: still disabled after a restart.
  CHECK(daemon.terminate() == 0);
  daemon.restart();
  CHECK(endpoint_info(daemon, "gone").at("state") == "disabled");

  Sink healthy({}, port);
  auto second = post_events(daemon, "gone-b", 5);
  std::this_thread::sleep_for(500ms);
  CHECK(healthy.records().empty());  // nothing is sent while disabled
  CHECK(state_of(daemon, first[0], "gone") == "pending");
  json::object info = endpoint_info(daemon, "gone");
  CHECK(number(info, "backlog") == 10);
  CHECK(number(info, "dead_letters") == 0);  // 410 does not use up the attempts
  CHECK(info.at("next_attempt_at").is_null());
  CHECK(std::string(info.at("disabled_reason").as_string()).find("410") != std::string::npos);

  // The admin routes want the bearer token.
  CHECK(hookd::test::http(daemon.port(), "POST", "/v1/endpoints/gone/enable").status == 401);
  CHECK(hookd::test::http(daemon.port(), "POST", "/v1/endpoints/gone/enable", "",
                          {{"Authorization", "Bearer wrong"}})
            .status == 401);
  CHECK(hookd::test::http(daemon.port(), "POST", "/v1/endpoints/nope/enable", "", admin()).status ==
        404);
  auto enabled = hookd::test::http(daemon.port(), "POST", "/v1/endpoints/gone/enable", "", admin());
  CHECK(enabled.status == 200);

  std::vector<std::string> all = first;
  all.insert(all.end(), second.begin(), second.end());
  REQUIRE(hookd::test::wait_until([&] { return contains_all(healthy.delivered(), all); }));
  REQUIRE(hookd::test::wait_until(
      [&] { return number(endpoint_info(daemon, "gone"), "backlog") == 0; }));
  info = endpoint_info(daemon, "gone");
  CHECK(info.at("state") == "active");
  CHECK(metric(daemon, "hookd_delivery_disabled{endpoint=\"gone\"}") == 0);
}

TEST_CASE("dead letters are durable and replay re-sends them") {
  const unsigned short port = hookd::test::free_port();  // down: every attempt fails
  DaemonOptions options;
  options.args = {
      "--endpoint",       "name=dl,url=http://127.0.0.1:" + std::to_string(port) + "/in",
      "--retry-schedule", "100ms,100ms",
      "--min-backoff",    "0",
      "--admin-token",    kAdminToken};
  Daemon daemon(hookd::test::with_read_token(options));
  const std::string before = [] {
    auto t = std::chrono::system_clock::now() - 1s;
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  }();
  auto ids = post_events(daemon, "dead", 10);
  REQUIRE(hookd::test::wait_until([&] {
    json::object info = endpoint_info(daemon, "dl");
    return number(info, "dead_letters") == 10 && number(info, "backlog") == 0;
  }));
  json::object d = delivery_of(daemon, ids[3], "dl");
  CHECK(d.at("state") == "dead_letter");
  CHECK(d.at("attempts").as_array().size() == 3);  // 2 retries -> 3 attempts
  CHECK(metric(daemon, "hookd_delivery_dead_letters{endpoint=\"dl\"}") == 10);

  // Durable across a restart (and not re-sent on their own).
  CHECK(daemon.terminate() == 0);
  daemon.restart();
  CHECK(number(endpoint_info(daemon, "dl"), "dead_letters") == 10);
  CHECK(state_of(daemon, ids[3], "dl") == "dead_letter");

  Sink sink({}, port);
  CHECK(hookd::test::http(daemon.port(), "POST", "/v1/endpoints/dl/replay", "{}").status == 401);
  auto replay = hookd::test::post_json(daemon.port(), "/v1/endpoints/dl/replay", "{}", admin());
  INFO(replay.body);
  CHECK(replay.status == 202);
  REQUIRE(hookd::test::wait_until([&] { return contains_all(sink.delivered(), ids); }));
  REQUIRE(hookd::test::wait_until(
      [&] { return number(endpoint_info(daemon, "dl"), "dead_letters") == 0; }));
  CHECK(all_in_state(daemon, ids, "dl", "delivered"));

  // Replayed dead letters are gone from the list for good.
  CHECK(daemon.terminate() == 0);
  daemon.restart();
  CHECK(number(endpoint_info(daemon, "dl"), "dead_letters") == 0);

  // Replay by time: everything that arrived since then goes out again.
  CHECK(hookd::test::post_json(daemon.port(), "/v1/endpoints/dl/replay", R"({"since":"bad"})",
                               admin())
            .status == 400);
  auto since = hookd::test::post_json(daemon.port(), "/v1/endpoints/dl/replay",
                                      R"({"since":")" + before + R"("})", admin());
  INFO(since.body);
  CHECK(since.status == 202);
  REQUIRE(hookd::test::wait_until([&] {
    std::map<std::string, int> seen;
    for (const auto& r : sink.records()) {
      if (r.at("status") == 200) ++seen[std::string(r.at("id").as_string())];
    }
    for (const auto& id : ids) {
      if (seen[id] < 2) return false;
    }
    return true;
  }));
}

TEST_CASE("an endpoint filtered to session.close never receives session.open") {
  Sink sink({});
  DaemonOptions options;
  options.args = {"--endpoint", "name=closes,url=http://127.0.0.1:" + std::to_string(sink.port()) +
                                    "/in,events=session.close"};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids = post_events(daemon, "filter", 20, {"session.open", "session.close"});
  std::vector<std::string> opens, closes;
  for (std::size_t i = 0; i < ids.size(); ++i)
    (i % 2 == 0 ? opens : closes).push_back(ids[i]);
  REQUIRE(hookd::test::wait_until([&] { return contains_all(sink.delivered(), closes); }));
  // The last open was read and skipped: nothing before it is left to send.
  REQUIRE(hookd::test::wait_until(
      [&] { return state_of(daemon, opens.back(), "closes") == "filtered"; }));
  for (const auto& id : opens)
    CHECK(state_of(daemon, id, "closes") == "filtered");
  for (const auto& r : sink.records()) {
    std::string id(r.at("id").as_string());
    CHECK(std::find(opens.begin(), opens.end(), id) == opens.end());
  }
  // Without --admin-token the admin routes explain themselves; the read
  // token still reads the endpoints.
  auto reply =
      hookd::test::http(daemon.port(), "POST", "/v1/endpoints/closes/replay", "{}", admin());
  CHECK(reply.status == 403);
  CHECK(reply.body.find("--admin-token") != std::string::npos);
  CHECK(hookd::test::authorized_get(daemon.port(), "/v1/endpoints").status == 200);
}

TEST_CASE("splunk-hec and ndjson endpoints deliver every event in batches") {
  Sink sink({"--token", "hec-token"});
  const std::string base = "http://127.0.0.1:" + std::to_string(sink.port());
  DaemonOptions options;
  options.args = {"--endpoint",
                  "name=splunk,url=" + base +
                      "/services/collector/event,format=splunk-hec,token=hec-token,batch=25",
                  "--endpoint",
                  "name=lake,url=" + base + "/ndjson,format=ndjson,batch=25,gzip=on",
                  "--admin-token",
                  kAdminToken};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids =
      post_events(daemon, "batch", 100, {"session.open", "session.close", "dbroles.job.finished"});
  auto by_format = [&](const std::string& format) {
    std::set<std::string> got;
    for (const auto& r : sink.records()) {
      if (r.at("format") == json::value(format) && r.at("status") == 200) {
        got.insert(std::string(r.at("id").as_string()));
      }
    }
    return got;
  };
  REQUIRE(hookd::test::wait_until([&] {
    return contains_all(by_format("splunk-hec"), ids) && contains_all(by_format("ndjson"), ids);
  }));
  json::object stats = sink.stats();
  INFO(json::serialize(stats));
  CHECK(number(stats, "unique_ids") == 100);
  CHECK(number(stats, "unauthorized") == 0);
  CHECK(number(stats, "invalid_bodies") == 0);
  CHECK(number(stats, "requests") < 200);  // batched, not one request per event
  CHECK(all_in_state(daemon, ids, "lake", "delivered"));
  CHECK(all_in_state(daemon, ids, "splunk", "delivered"));
  CHECK(number(endpoint_info(daemon, "splunk"), "delivered_total") == 100);
  CHECK(number(endpoint_info(daemon, "lake"), "delivered_total") == 100);
}

TEST_CASE("429 with Retry-After is throttled and a redirect is a failure, both retried") {
  // The first 3 requests are refused (3 events: at least ids[0]'s first
  // attempt), the rest pass.
  Sink throttling({"--status-429-rate", "1", "--retry-after", "1", "--fail-first", "3"});
  Sink moved({"--status", "302", "--fail-first", "3"});
  DaemonOptions options;
  options.args = {"--endpoint",
                  "name=slow,url=http://127.0.0.1:" + std::to_string(throttling.port()) + "/in",
                  "--endpoint",
                  "name=moved,url=http://127.0.0.1:" + std::to_string(moved.port()) + "/in",
                  "--retry-schedule",
                  "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
                  "--min-backoff",
                  "300ms"};
  Daemon daemon(hookd::test::with_read_token(options));
  auto ids = post_events(daemon, "throttle", 3);
  REQUIRE(hookd::test::wait_until([&] { return contains_all(throttling.delivered(), ids); }));
  REQUIRE(hookd::test::wait_until([&] { return contains_all(moved.delivered(), ids); }));
  CHECK(all_in_state(daemon, ids, "slow", "delivered"));
  CHECK(all_in_state(daemon, ids, "moved", "delivered"));
  CHECK(metric(daemon, "hookd_delivery_attempts_total{endpoint=\"slow\",outcome=\"throttled\"}") >=
        1);
  CHECK(metric(daemon,
               "hookd_delivery_attempts_total{endpoint=\"moved\",outcome=\"http_error\"}") >= 1);
  json::object d = delivery_of(daemon, ids[0], "moved");
  CHECK(d.at("attempts").as_array()[0].as_object().at("status") == 302);
  CHECK(number(moved.stats(), "unique_ids") == 3);

  // Throttled attempts wait at least --min-backoff (a bound, not a speed).
  json::array slow = delivery_of(daemon, ids[0], "slow").at("attempts").as_array();
  REQUIRE(slow.size() >= 2);
  for (std::size_t i = 1; i < slow.size(); ++i) {
    auto prev = hookd::parse_rfc3339(slow[i - 1].as_object().at("at").as_string());
    auto next = hookd::parse_rfc3339(slow[i].as_object().at("at").as_string());
    REQUIRE(prev);
    REQUIRE(next);
    CHECK(*next - *prev >= 300);
  }
}
