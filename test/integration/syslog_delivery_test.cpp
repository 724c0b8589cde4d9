// Syslog delivery against a receiver nobody here wrote: Debian's rsyslogd,
// started by each test as a foreground child with its own configuration and
// work directory, listening (imtcp) on a free 127.0.0.1 port, over TLS with
// the gtls driver and a CA made here. rsyslog writes what it parsed of each
// message (its RFC 5424 properties) as one JSON line, which the test reads:
// every event arrives exactly once, the properties hold what hookd sent,
// and across an rsyslog restart mid-stream no event is lost.
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/certificates.h"
#include "support/skip.h"
#include "support/support.h"

namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TempDir;
using namespace std::chrono_literals;

const char* const kRsyslogd = "/usr/sbin/rsyslogd";
const char* const kGtlsModule = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so";
const char* const kAdminToken = "syslog-test-token";

struct RsyslogTls {
  fs::path ca, cert, key;
  bool require_client_cert = false;  // x509/certvalid: hookd must present one the CA signed
};

// One rsyslogd in the foreground (-n) on its own config, pid file and work
// directory; stopped with SIGTERM when destroyed.
class Rsyslog {
 public:
  explicit Rsyslog(std::optional<RsyslogTls> tls = std::nullopt)
      : tls_(std::move(tls)), port_(hookd::test::free_port()) {
    fs::create_directories(dir_.path() / "work");
    write_config();
    start();
  }
  ~Rsyslog() { stop(); }

  unsigned short port() const { return port_; }

  void start() {
    process_ = hookd::test::ChildProcess(
        {kRsyslogd, "-n", "-f", conf().string(), "-i", (dir_.path() / "rsyslogd.pid").string()},
        dir_.path() / "rsyslogd.log");
    bool up = hookd::test::wait_until([&] { return !process_.running() || listening(); }, 20s);
    INFO(log());
    REQUIRE(up);
    REQUIRE(process_.running());
  }

  void stop() {
    if (process_.pid() > 0 && process_.running()) process_.terminate();
  }

  // What rsyslog parsed of every message, in arrival order.
  std::vector<json::object> received() const {
    std::vector<json::object> out;
    if (!fs::exists(out_path())) return out;
    const std::string text = hookd::test::read_file(out_path());
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) break;  // a line still being written
      boost::system::error_code ec;
      json::value v = json::parse(text.substr(pos, nl - pos), ec);
      INFO(text.substr(pos, nl - pos));
      REQUIRE_FALSE(ec);
      out.push_back(v.as_object());
      pos = nl + 1;
    }
    return out;
  }

  std::string log() const {
    return fs::exists(dir_.path() / "rsyslogd.log")
               ? hookd::test::read_file(dir_.path() / "rsyslogd.log")
               : std::string();
  }

 private:
  fs::path conf() const { return dir_.path() / "rsyslog.conf"; }
  fs::path out_path() const { return dir_.path() / "received.jsonl"; }

  // Whether rsyslog listens yet, from the kernel's socket table: a probing
  // connection would be a message-less session in rsyslog's log.
  bool listening() const {
    // Rows of /proc/net/tcp: "sl local_address rem_address st ...", the
    // port in hex after the address, state 0A = LISTEN.
    char port_hex[8];
    std::snprintf(port_hex, sizeof port_hex, "%04X", port_);
    const std::string text = hookd::test::read_file("/proc/net/tcp");
    std::size_t pos = 0;
    while ((pos = text.find(std::string(":") + port_hex + " ", pos)) != std::string::npos) {
      std::size_t line_end = text.find('\n', pos);
      std::string rest = text.substr(pos, line_end - pos);
      // ":PORT 00000000:0000 0A"
      if (rest.size() > 21 && rest.substr(20, 2) == "0A") return true;
      pos += 1;
    }
    return false;
  }

  void write_config() {
    std::string c;
    c += "global(workDirectory=\"" + (dir_.path() / "work").string() + "\" maxMessageSize=\"64k\"";
    if (tls_) {
      c += " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"" + tls_->ca.string() +
           "\" defaultNetstreamDriverCertFile=\"" + tls_->cert.string() +
           "\" defaultNetstreamDriverKeyFile=\"" + tls_->key.string() + "\"";
    }
    c += ")\n";
    if (tls_) {
      c +=
          std::string("module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" ") +
          "StreamDriver.AuthMode=\"" + (tls_->require_client_cert ? "x509/certvalid" : "anon") +
          "\")\n";
    } else {
      c += "module(load=\"imtcp\")\n";
    }
    c += "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(port_) +
         "\" ruleset=\"hookd\")\n";
    // rsyslog's own names for the RFC 5424 fields it parsed.
    c += R"(template(name="fields" type="list" option.jsonf="on") {
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timestamp" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
)";
    c += "ruleset(name=\"hookd\") {\n  action(type=\"omfile\" file=\"" + out_path().string() +
         "\" template=\"fields\")\n}\n";
    hookd::test::write_file(conf(), c);
  }

  TempDir dir_;
  std::optional<RsyslogTls> tls_;
  unsigned short port_;
  hookd::test::ChildProcess process_;
};

std::string event_json(const std::string& id, const std::string& type, int n) {
  json::object e;
  e["id"] = id;
  e["type"] = type;
  e["timestamp"] = "2026-11-24T10:15:02.123Z";
  json::object p;
  p["sid"] = "s-" + std::to_string(n);
  p["note"] = "quote \" bracket ] backslash \\ n=" + std::to_string(n);
  json::object open;
  open["user_email"] = "user" + std::to_string(n) + "@example.com";
  open["connection_name"] = "pg-prod";
  open["verb"] = "exec";
  p["event_session_open"] = open;
  e["payload"] = p;
  return json::serialize(e);
}

// Posts events `from`..`to` (ids evt_sys_<n>) in arrays of `per_request`.
std::vector<std::string> post_events(unsigned short port, int from, int to, int per_request = 10) {
  std::vector<std::string> ids;
  for (int start = from; start < to; start += per_request) {
    std::string body = "[";
    for (int n = start; n < std::min(to, start + per_request); ++n) {
      std::string id = "evt_sys_" + std::to_string(n);
      if (body.size() > 1) body += ',';
      body += event_json(id, n % 2 ? "session.close" : "session.open", n);
      ids.push_back(id);
    }
    body += "]";
    auto reply = hookd::test::post_json(port, "/v1/events", body);
    INFO(reply.body);
    REQUIRE(reply.status == 202);
  }
  return ids;
}

// The event id in hookd's structured data element, as rsyslog kept it.
std::string sd_id(const json::object& record) {
  std::string sd(record.at("structured_data").as_string());
  const std::string key = "id=\"";
  auto at = sd.find(key);
  if (at == std::string::npos) return "";
  auto end = sd.find('"', at + key.size());
  return sd.substr(at + key.size(), end - at - key.size());
}

std::map<std::string, int> count_by_id(const std::vector<json::object>& records) {
  std::map<std::string, int> counts;
  for (const auto& r : records)
    ++counts[sd_id(r)];
  return counts;
}

bool all_arrived(const Rsyslog& rsyslog, const std::vector<std::string>& ids) {
  auto counts = count_by_id(rsyslog.received());
  for (const auto& id : ids) {
    if (!counts.count(id)) return false;
  }
  return true;
}

// Until every endpoint's cursor has passed everything: nothing more will be sent.
bool settled(const Daemon& hookd) {
  auto reply = hookd::test::http(hookd.port(), "GET", "/v1/endpoints", "",
                                 {{"Authorization", std::string("Bearer ") + kAdminToken}});
  if (reply.status != 200) return false;
  const json::value endpoints = json::parse(reply.body);
  for (const auto& e : endpoints.as_array()) {
    const auto& o = e.as_object();
    if (o.at("backlog").as_int64() != 0 || o.at("in_flight").as_int64() != 0) return false;
  }
  return true;
}

DaemonOptions hookd_options(const std::vector<std::string>& endpoints) {
  DaemonOptions options;
  options.args = {"--admin-token", kAdminToken, "--retry-jitter", "0", "--min-backoff", "0"};
  // Short retries, many of them: a receiver that is away for a few seconds
  // must not push events into the dead letters.
  std::string schedule = "200ms";
  for (int i = 0; i < 60; ++i)
    schedule += ",200ms";
  options.args.insert(options.args.end(), {"--retry-schedule", schedule});
  for (const auto& e : endpoints)
    options.args.insert(options.args.end(), {"--endpoint", e});
  return options;
}

// Every property rsyslog parsed is what hookd sent for that event.
void check_rfc5424(const json::object& r, int hookd_pid) {
  INFO(json::serialize(r));
  CHECK(r.at("version").as_string() == "1");  // parsed as RFC 5424, not as BSD syslog
  CHECK(r.at("pri").as_string() == "134");    // local0 (16) * 8 + informational (6)
  CHECK(r.at("app_name").as_string() == "hookd");
  CHECK(r.at("procid").as_string() == std::to_string(hookd_pid));
  CHECK(r.at("timestamp").as_string().find("2026-11-24T10:15:02.123") == 0);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  CHECK(r.at("hostname").as_string() == host);
  const std::string id = sd_id(r);
  json::value msg = json::parse(r.at("msg").as_string());
  CHECK(msg.at("id").as_string() == id);
  const std::string type(msg.at("type").as_string());
  CHECK(r.at("msgid").as_string() == type);
  CHECK(r.at("structured_data").as_string() ==
        "[hookd@32473 id=\"" + id + "\" type=\"" + type + "\"]");
  // The payload came through byte for byte, quotes and brackets included.
  CHECK(msg.at("payload").at("note").as_string().find("quote \" bracket ] backslash \\") == 0);
}

}  // namespace

TEST_CASE("syslog over TCP: rsyslog receives every event once, as valid RFC 5424") {
  if (!fs::exists(kRsyslogd)) HOOKD_SKIP("rsyslogd is not installed (tools/setup installs it)");
  Rsyslog rsyslog;
  Daemon hookd(hookd_options(
      {"name=rs,url=syslog+tcp://127.0.0.1:" + std::to_string(rsyslog.port()) + ",batch=7"}));
  auto ids = post_events(hookd.port(), 0, 60);
  bool arrived = hookd::test::wait_until([&] { return all_arrived(rsyslog, ids); }, 60s);
  INFO(hookd.log() << rsyslog.log());
  REQUIRE(arrived);
  REQUIRE(hookd::test::wait_until([&] { return settled(hookd); }, 30s));

  auto records = rsyslog.received();
  auto counts = count_by_id(records);
  CHECK(records.size() == ids.size());
  for (const auto& id : ids) {
    INFO(id);
    CHECK(counts[id] == 1);
  }
  for (const auto& r : records)
    check_rfc5424(r, hookd.pid());

  auto status = hookd::test::http(hookd.port(), "GET", "/v1/events/evt_sys_3");
  REQUIRE(status.status == 200);
  CHECK(json::parse(status.body).at("deliveries").at("rs").at("state").as_string() == "delivered");
}

TEST_CASE("syslog over TLS: certificates verified both ways, events once, JSON and CEF") {
  if (!fs::exists(kRsyslogd)) HOOKD_SKIP("rsyslogd is not installed (tools/setup installs it)");
  if (!fs::exists(kGtlsModule))
    HOOKD_SKIP("rsyslog-gnutls is not installed (tools/setup installs it)");
  hookd::test::TestCertificates certs;
  certs.make_ca("ca");
  certs.make_ca("other-ca");
  certs.make_leaf("server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  certs.make_leaf("client", "ca", "subjectAltName=DNS:hookd.test\nextendedKeyUsage=clientAuth\n");
  Rsyslog rsyslog(RsyslogTls{certs.pem("ca"), certs.pem("server"), certs.key("server"), true});
  const std::string url = "url=syslog+tls://127.0.0.1:" + std::to_string(rsyslog.port());
  const std::string client =
      ",cert=" + certs.pem("client").string() + ",key=" + certs.key("client").string();
  Daemon hookd(hookd_options({
      "name=tls," + url + ",ca=" + certs.pem("ca").string() + client,
      "name=cef," + url + ",ca=" + certs.pem("ca").string() + client +
          ",syslog_format=cef,app_name=hookd-cef",
      // Signed by a CA hookd was not told to trust: never delivered.
      "name=untrusted," + url + ",ca=" + certs.pem("other-ca").string() + client,
  }));
  auto ids = post_events(hookd.port(), 0, 30);
  bool arrived = hookd::test::wait_until(
      [&] {
        std::size_t json_count = 0, cef_count = 0;
        for (const auto& r : rsyslog.received())
          ++(r.at("app_name").as_string() == "hookd-cef" ? cef_count : json_count);
        return json_count >= ids.size() && cef_count >= ids.size();
      },
      60s);
  INFO(hookd.log() << rsyslog.log());
  REQUIRE(arrived);

  std::map<std::string, int> json_ids, cef_ids;
  for (const auto& r : rsyslog.received()) {
    if (r.at("app_name").as_string() == "hookd-cef") {
      ++cef_ids[sd_id(r)];
      const std::string msg(r.at("msg").as_string());
      INFO(msg);
      CHECK(msg.rfind("CEF:0|hoop.dev|hookd|", 0) == 0);
      CHECK(msg.find("externalId=" + sd_id(r)) != std::string::npos);
      CHECK(msg.find("dhost=pg-prod") != std::string::npos);
    } else {
      ++json_ids[sd_id(r)];
      check_rfc5424(r, hookd.pid());
    }
  }
  for (const auto& id : ids) {
    INFO(id);
    CHECK(json_ids[id] == 1);
    CHECK(cef_ids[id] == 1);
  }

  // The untrusted endpoint keeps failing on verification, and says so.
  bool refused = hookd::test::wait_until(
      [&] {
        auto reply = hookd::test::http(hookd.port(), "GET", "/v1/endpoints", "",
                                       {{"Authorization", std::string("Bearer ") + kAdminToken}});
        const json::value endpoints = json::parse(reply.body);
        for (const auto& e : endpoints.as_array()) {
          const auto& o = e.as_object();
          if (o.at("name").as_string() != "untrusted") continue;
          return o.at("last_error").is_string() &&
                 std::string(o.at("last_error").as_string()).find("certificate verify failed") !=
                     std::string::npos &&
                 o.at("delivered_total").as_int64() == 0;
        }
        return false;
      },
      30s);
  CHECK(refused);
}

TEST_CASE("syslog: rsyslog restarted mid-stream, every event still arrives") {
  if (!fs::exists(kRsyslogd)) HOOKD_SKIP("rsyslogd is not installed (tools/setup installs it)");
  Rsyslog rsyslog;
  Daemon hookd(hookd_options(
      {"name=rs,url=syslog+tcp://127.0.0.1:" + std::to_string(rsyslog.port()) + ",batch=5"}));
  auto ids = post_events(hookd.port(), 0, 100, 5);
  // Stopped while events are on their way, more arrive while it is down.
  rsyslog.stop();
  auto more = post_events(hookd.port(), 100, 150, 5);
  ids.insert(ids.end(), more.begin(), more.end());
  std::this_thread::sleep_for(500ms);  // let hookd find it gone
  rsyslog.start();
  auto last = post_events(hookd.port(), 150, 200, 5);
  ids.insert(ids.end(), last.begin(), last.end());

  bool arrived = hookd::test::wait_until([&] { return all_arrived(rsyslog, ids); }, 90s);
  REQUIRE(hookd::test::wait_until([&] { return settled(hookd); }, 30s));
  auto counts = count_by_id(rsyslog.received());
  std::vector<std::string> missing;
  int duplicates = 0;
  for (const auto& id : ids) {
    if (!counts.count(id)) missing.push_back(id);
    if (counts[id] > 1) duplicates += counts[id] - 1;
  }
  // At least once: a batch rsyslog may have taken just before it stopped is
  // sent again. Reported, never a failure.
  WARN("rsyslog restart: " << ids.size() << " events, " << duplicates << " duplicates");
  INFO(hookd.log() << rsyslog.log());
  CHECK(arrived);
  CHECK(missing.empty());
}
