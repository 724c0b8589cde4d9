// Delivery's pure pieces: endpoint specs, retry schedules, the requests each
// format sends (checked with independent HMAC / zlib code), and backoff.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "hookd/delivery/delivery.h"
#include "support/support.h"

using hookd::EndpointFormat;
using hookd::EndpointSpec;
using hookd::Event;
using hookd::OutgoingRequest;
using std::chrono::milliseconds;
namespace json = boost::json;

namespace {

std::string header(const OutgoingRequest& req, std::string_view name) {
  std::string found;
  int count = 0;
  for (const auto& [k, v] : req.headers) {
    std::string a = k, b(name);
    for (auto& c : a)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : b)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (a == b) {
      found = v;
      ++count;
    }
  }
  REQUIRE(count <= 1);  // never sent twice
  return found;
}

EndpointSpec parse_ok(const std::string& text) {
  auto spec = hookd::parse_endpoint_spec(text);
  INFO(text << " -> " << (spec ? "" : spec.error().message));
  REQUIRE(spec.ok());
  return spec.value();
}

std::string parse_error(const std::string& text) {
  auto spec = hookd::parse_endpoint_spec(text);
  INFO(text);
  REQUIRE_FALSE(spec.ok());
  return spec.error().message;
}

// Standard Webhooks signing done independently of hookd's signature module.
std::string reference_signature(const std::string& whsec, const std::string& id, std::int64_t ts,
                                const std::string& body) {
  std::string b64 = whsec.substr(6);
  std::string key(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  REQUIRE(n >= 0);
  std::size_t pad = 0;
  while (pad < b64.size() && b64[b64.size() - 1 - pad] == '=')
    ++pad;
  key.resize(static_cast<std::size_t>(n) - pad);
  std::string message = id + "." + std::to_string(ts) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  std::string out(4 * ((mac_len + 2) / 3) + 1, '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_len));
  out.resize(static_cast<std::size_t>(len));
  return "v1," + out;
}

std::string inflate_gzip(const std::string& data) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

std::vector<Event> sample_events() {
  Event a;
  a.id = "evt_a";
  a.type = "session.open";
  a.timestamp = "2026-11-24T10:15:02.123Z";
  a.payload_json = R"({"sid":"s-1","n":1})";
  a.arrival_unix_ms = 1795515302500;
  Event b;
  b.id = "evt_b";
  b.type = "session.close";
  b.timestamp = "2026-11-24T10:15:03Z";
  b.payload_json = R"({"sid":"s-1","exit_code":0})";
  b.arrival_unix_ms = 1795515303100;
  return {a, b};
}

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t nl = body.find('\n', pos);
    REQUIRE(nl != std::string::npos);  // every line is terminated
    out.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("endpoint spec: defaults with only name and url") {
  EndpointSpec s = parse_ok("name=siem,url=https://siem.example.com/hooks");
  CHECK(s.name == "siem");
  CHECK(s.url == "https://siem.example.com/hooks");
  CHECK(s.events == std::vector<std::string>{"*"});
  CHECK(s.format == EndpointFormat::webhook);
  CHECK_FALSE(s.secret.has_value());
  CHECK(s.token.empty());
  CHECK(s.headers.empty());
  CHECK(s.timeout == std::chrono::seconds(15));
  CHECK(s.connections == 4);
  CHECK(s.batch == 100);
  CHECK_FALSE(s.gzip);
  CHECK(s.accepts("session.open"));
  CHECK(s.accepts("anything.at.all"));
}

TEST_CASE("endpoint spec: every key") {
  hookd::test::TempDir dir;
  auto ca = dir.path() / "ca.pem", cert = dir.path() / "client.pem",
       key = dir.path() / "client.key";
  for (const auto& p : {ca, cert, key})
    hookd::test::write_file(p, "PEM\n");

  EndpointSpec w = parse_ok(
      " url=http://127.0.0.1:9000/in , name=hooks-1,events=session.open|session.close,"
      "format=webhook,secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,header=X-Tenant: acme,"
      "header=X-Env:prod,ca=" +
      ca.string() + ",cert=" + cert.string() + ",key=" + key.string() +
      ",timeout=2500ms,connections=8");
  CHECK(w.name == "hooks-1");
  CHECK(w.url == "http://127.0.0.1:9000/in");
  CHECK(w.events == std::vector<std::string>{"session.open", "session.close"});
  CHECK(w.accepts("session.close"));
  CHECK_FALSE(w.accepts("dbroles.job.finished"));
  REQUIRE(w.secret.has_value());
  CHECK(w.secret->sign("id", 1, "b").rfind("v1,", 0) == 0);
  REQUIRE(w.headers.size() == 2);
  CHECK(w.headers[0] == std::pair<std::string, std::string>{"X-Tenant", "acme"});
  CHECK(w.headers[1] == std::pair<std::string, std::string>{"X-Env", "prod"});
  CHECK(w.ca == ca.string());
  CHECK(w.cert == cert.string());
  CHECK(w.key == key.string());
  CHECK(w.timeout == milliseconds(2500));
  CHECK(w.connections == 8);

  EndpointSpec s = parse_ok(
      "name=splunk,url=https://splunk:8088/services/collector/event,format=splunk-hec,"
      "token=abc-123,batch=50,gzip=on,timeout=30");
  CHECK(s.format == EndpointFormat::splunk_hec);
  CHECK(s.token == "abc-123");
  CHECK(s.batch == 50);
  CHECK(s.gzip);
  CHECK(s.timeout == std::chrono::seconds(30));

  EndpointSpec n = parse_ok("name=lake,url=https://lake/ingest,format=ndjson,gzip=off,batch=1");
  CHECK(n.format == EndpointFormat::ndjson);
  CHECK_FALSE(n.gzip);
  CHECK(n.batch == 1);

  // '=' inside a value (base64 padding, query strings) is fine.
  EndpointSpec q = parse_ok("name=q,url=https://h/p?a=b&c=d");
  CHECK(q.url == "https://h/p?a=b&c=d");
}

TEST_CASE("endpoint spec: every error names the endpoint and the key") {
  hookd::test::TempDir dir;
  auto file = dir.path() / "f.pem";
  hookd::test::write_file(file, "x");
  const std::string base = "name=siem,url=https://siem/x";
  struct Case {
    std::string spec;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {base + ",fromat=ndjson", R"(endpoint "siem": unknown key "fromat")"},
      {"name=siem", R"(endpoint "siem": missing key "url")"},
      {"url=https://x", R"(missing key "name")"},
      {"name=a b,url=https://x", R"(endpoint "a b": key "name")"},
      {"name=,url=https://x", R"(key "name")"},
      {base + ",url=https://other", R"(endpoint "siem": key "url": given twice)"},
      {"name=siem,url=ftp://x/y", R"(endpoint "siem": key "url")"},
      {"name=siem,url=not a url", R"(endpoint "siem": key "url")"},
      {"name=siem,url=", R"(endpoint "siem": key "url": empty value)"},
      {base + ",events=session open", R"(endpoint "siem": key "events")"},
      {base + ",events=session.open|", R"(endpoint "siem": key "events")"},
      {base + ",format=json", R"(endpoint "siem": key "format")"},
      {base + ",secret=whsec_!!!", R"(endpoint "siem": key "secret")"},
      {base + ",secret=MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", R"(endpoint "siem": key "secret")"},
      {base + ",format=ndjson,secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       R"(endpoint "siem": key "secret")"},
      {base + ",token=t", R"(endpoint "siem": key "token")"},
      {base + ",header=NoColon", R"(endpoint "siem": key "header")"},
      {base + ",header=Bad Name: v", R"(endpoint "siem": key "header")"},
      {base + ",header=webhook-signature: v1", R"(endpoint "siem": key "header")"},
      // NUL and other controls: not header characters (strchr would match the NUL).
      {base + ",header=X" + std::string(1, '\0') + "Y: v", R"(endpoint "siem": key "header")"},
      {base + ",header=X-Y: a" + std::string(1, '\0') + "b", R"(endpoint "siem": key "header")"},
      {base + ",header=X-Y: a\x01b", R"(endpoint "siem": key "header")"},
      {base + ",ca=/nonexistent/ca.pem", R"(endpoint "siem": key "ca")"},
      {base + ",cert=/nonexistent/c.pem,key=" + file.string(), R"(endpoint "siem": key "cert")"},
      {base + ",key=/nonexistent/k.pem,cert=" + file.string(), R"(endpoint "siem": key "key")"},
      {base + ",cert=" + file.string(), R"(endpoint "siem": key "key")"},
      {base + ",key=" + file.string(), R"(endpoint "siem": key "cert")"},
      {base + ",timeout=fast", R"(endpoint "siem": key "timeout")"},
      {base + ",timeout=0s", R"(endpoint "siem": key "timeout")"},
      {base + ",connections=0", R"(endpoint "siem": key "connections")"},
      {base + ",connections=many", R"(endpoint "siem": key "connections")"},
      {base + ",format=ndjson,batch=0", R"(endpoint "siem": key "batch")"},
      {base + ",batch=10", R"(endpoint "siem": key "batch")"},  // webhook: one per request
      {base + ",format=ndjson,gzip=yes", R"(endpoint "siem": key "gzip")"},
      {base + ",gzip=on", R"(endpoint "siem": key "gzip")"},
      {base + ",gzip", R"(endpoint "siem": entry 3 is not key=value)"},
  };
  for (const auto& c : cases) {
    std::string message = parse_error(c.spec);
    INFO(c.spec << " -> " << message);
    CHECK(message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("durations and retry schedules") {
  using namespace std::chrono;
  auto s = hookd::parse_retry_schedule("5s,5m,30m,2h");
  REQUIRE(s.ok());
  CHECK(*s == std::vector<milliseconds>{seconds(5), minutes(5), minutes(30), hours(2)});
  auto t = hookd::parse_retry_schedule("200ms, 400ms,1.5s,2");
  REQUIRE(t.ok());
  CHECK(*t == std::vector<milliseconds>{milliseconds(200), milliseconds(400), milliseconds(1500),
                                        seconds(2)});
  for (const char* bad : {"", "5x", "5s,,1s", "-1s", "s", "1e3s", "5s,", "999999h"}) {
    INFO(bad);
    CHECK_FALSE(hookd::parse_retry_schedule(bad).ok());
  }
  auto d = hookd::default_retry_schedule();
  CHECK(d == std::vector<milliseconds>{seconds(5), minutes(5), minutes(30), hours(2), hours(5),
                                       hours(10), hours(10)});
  CHECK(hookd::DeliveryOptions{}.retry_schedule.size() == 7);  // 8 attempts in all
  CHECK(*hookd::parse_retry_schedule("0,1h") ==
        std::vector<milliseconds>{milliseconds(0), hours(1)});
}

TEST_CASE("webhook request: Standard Webhooks headers, signed as any verifier expects") {
  json::object vector =
      json::parse(hookd::test::fixture("standard-webhooks-vector.json")).as_object();
  const std::string secret(vector["secret"].as_string());
  const std::string id(vector["id"].as_string());
  const std::int64_t ts = vector["timestamp"].as_int64();

  // The reference signer agrees with the published vector...
  CHECK(reference_signature(secret, id, ts, std::string(vector["body"].as_string())) ==
        std::string(vector["signature"].as_string()));

  // ...and with every request hookd makes for an event carrying that id.
  EndpointSpec spec = parse_ok("name=s,url=https://user:p%40ss@siem/in,secret=" + secret +
                               ",header=X-Tenant: acme");
  Event event = sample_events()[0];
  event.id = id;
  OutgoingRequest req = hookd::make_webhook_request(spec, event, ts, "hookd/test");
  CHECK(req.method == "POST");
  CHECK(req.body == hookd::to_json(event));
  CHECK(header(req, "webhook-id") == id);
  CHECK(header(req, "webhook-timestamp") == std::to_string(ts));
  CHECK(header(req, "webhook-signature") == reference_signature(secret, id, ts, req.body));
  CHECK(header(req, "content-type") == "application/json");
  CHECK(header(req, "user-agent") == "hookd/test");
  CHECK(header(req, "x-tenant") == "acme");
  CHECK(header(req, "authorization") == "Basic " + hookd::base64_encode("user:p@ss"));
  auto parsed = hookd::WebhookSecret::parse(secret);
  REQUIRE(parsed.ok());
  CHECK(parsed
            ->verify(id, header(req, "webhook-timestamp"), header(req, "webhook-signature"),
                     req.body, ts)
            .ok());

  // Same id on every attempt; a new timestamp re-signs.
  OutgoingRequest later = hookd::make_webhook_request(spec, event, ts + 60, "hookd/test");
  CHECK(header(later, "webhook-id") == id);
  CHECK(header(later, "webhook-signature") == reference_signature(secret, id, ts + 60, req.body));
  CHECK(header(later, "webhook-signature") != header(req, "webhook-signature"));

  // No secret: no signature, still an id and a timestamp.
  OutgoingRequest plain =
      hookd::make_webhook_request(parse_ok("name=p,url=http://h/"), event, ts, "hookd/test");
  CHECK(header(plain, "webhook-signature").empty());
  CHECK(header(plain, "webhook-id") == id);
  CHECK(header(plain, "authorization").empty());
}

TEST_CASE("splunk-hec batch body") {
  auto events = sample_events();
  EndpointSpec spec = parse_ok(
      "name=sp,url=https://splunk/services/collector/event,"
      "format=splunk-hec,token=tok-1");
  OutgoingRequest req = hookd::make_batch_request(spec, events, "edge-1", "hookd/test");
  CHECK(header(req, "authorization") == "Splunk tok-1");
  CHECK(header(req, "content-type") == "application/json");
  CHECK(header(req, "content-encoding").empty());
  CHECK(req.body == hookd::splunk_hec_body(events, "edge-1"));
  auto lines = lines_of(req.body);
  REQUIRE(lines.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    json::object o = json::parse(lines[i]).as_object();
    CHECK(o["host"] == "edge-1");
    CHECK(o["source"] == "hookd");
    CHECK(o["sourcetype"] == json::value("hookd:" + events[i].type));
    CHECK(o["event"] == json::parse(hookd::to_json(events[i])));
    REQUIRE(o["time"].is_double());
    double expected = static_cast<double>(*hookd::parse_rfc3339(events[i].timestamp)) / 1000.0;
    CHECK(o["time"].as_double() == Approx(expected).epsilon(1e-12));
  }
  CHECK(lines[0].find("\"time\":1795515302.123,") != std::string::npos);
  CHECK(lines[1].find("\"time\":1795515303.000,") != std::string::npos);
}

TEST_CASE("ndjson batch body") {
  auto events = sample_events();
  EndpointSpec spec =
      parse_ok("name=nd,url=http://lake/in,format=ndjson,header=Authorization: Bearer x");
  OutgoingRequest req = hookd::make_batch_request(spec, events, "edge-1", "hookd/test");
  CHECK(header(req, "content-type") == "application/x-ndjson");
  CHECK(header(req, "authorization") == "Bearer x");
  CHECK(header(req, "webhook-id").empty());
  auto lines = lines_of(req.body);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == hookd::to_json(events[0]));
  CHECK(lines[1] == hookd::to_json(events[1]));
}

TEST_CASE("gzip: batched bodies round-trip through zlib") {
  auto events = sample_events();
  for (int i = 0; i < 200; ++i) {
    Event e = events[i % 2];
    e.id = "evt_" + std::to_string(i);
    events.push_back(e);
  }
  for (const char* format : {"ndjson", "splunk-hec"}) {
    EndpointSpec spec = parse_ok(std::string("name=g,url=http://h/,gzip=on,format=") + format);
    OutgoingRequest req = hookd::make_batch_request(spec, events, "edge-1", "hookd/test");
    CHECK(header(req, "content-encoding") == "gzip");
    REQUIRE(req.body.size() > 2);
    CHECK(static_cast<unsigned char>(req.body[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(req.body[1]) == 0x8b);
    std::string plain = spec.format == EndpointFormat::ndjson
                            ? hookd::ndjson_body(events)
                            : hookd::splunk_hec_body(events, "edge-1");
    CHECK(req.body.size() < plain.size());
    CHECK(inflate_gzip(req.body) == plain);
  }
  CHECK(inflate_gzip(hookd::gzip_compress("")).empty());
}

TEST_CASE("backoff: jitter bounds") {
  const milliseconds sched(10000);
  CHECK(hookd::retry_delay(sched, 0.2, 0.0, std::nullopt, false, milliseconds(0)) ==
        milliseconds(8000));
  CHECK(hookd::retry_delay(sched, 0.2, 1.0, std::nullopt, false, milliseconds(0)) ==
        milliseconds(12000));
  CHECK(hookd::retry_delay(sched, 0.2, 0.5, std::nullopt, false, milliseconds(0)) == sched);
  CHECK(hookd::retry_delay(sched, 0.0, 0.9, std::nullopt, false, milliseconds(0)) == sched);
  for (int i = 0; i <= 100; ++i) {
    auto d = hookd::retry_delay(sched, 0.2, i / 100.0, std::nullopt, false, milliseconds(0));
    CHECK(d >= milliseconds(8000));
    CHECK(d <= milliseconds(12000));
  }
  // Throttled (429/502/504/timeout) waits at least the minimum.
  CHECK(hookd::retry_delay(sched, 0.0, 0.5, std::nullopt, true, milliseconds(60000)) ==
        milliseconds(60000));
  CHECK(hookd::retry_delay(milliseconds(120000), 0.0, 0.5, std::nullopt, true,
                           milliseconds(60000)) == milliseconds(120000));
}

TEST_CASE("backoff: Retry-After in seconds and as an HTTP-date, clamped") {
  const std::int64_t now = 1614265330;  // Thu, 25 Feb 2021 15:02:10 GMT
  CHECK(hookd::parse_retry_after("120", now) == milliseconds(120000));
  CHECK(hookd::parse_retry_after(" 0 ", now) == milliseconds(0));
  CHECK(hookd::parse_retry_after("Thu, 25 Feb 2021 15:02:40 GMT", now) == milliseconds(30000));
  CHECK(hookd::parse_retry_after("Thursday, 25-Feb-21 15:03:40 GMT", now) == milliseconds(90000));
  CHECK(hookd::parse_retry_after("Thu Feb 25 15:02:55 2021", now) == milliseconds(45000));
  CHECK(hookd::parse_retry_after("Thu, 25 Feb 2021 15:00:00 GMT", now) == milliseconds(0));
  for (const char* bad : {"", "soon", "-5", "1.5", "Thu, 31 Feb 2021 15:02:40 GMT",
                          "Thu, 25 Foo 2021 15:02:40 GMT"}) {
    INFO(bad);
    CHECK_FALSE(hookd::parse_retry_after(bad, now).has_value());
  }

  const milliseconds sched(10000);
  auto delay = [&](std::optional<milliseconds> ra) {
    return hookd::retry_delay(sched, 0.0, 0.5, ra, false, milliseconds(0));
  };
  CHECK(delay(hookd::parse_retry_after("1", now)) == sched);                   // below: scheduled
  CHECK(delay(hookd::parse_retry_after("15", now)) == milliseconds(15000));    // inside: as asked
  CHECK(delay(hookd::parse_retry_after("3600", now)) == milliseconds(20000));  // above: 2x
  CHECK(delay(hookd::parse_retry_after("Thu, 25 Feb 2021 15:02:25 GMT", now)) ==
        milliseconds(15000));
  CHECK(delay(hookd::parse_retry_after("Thu, 25 Feb 2021 16:00:00 GMT", now)) ==
        milliseconds(20000));
  // The clamp follows the jittered schedule.
  CHECK(hookd::retry_delay(sched, 0.2, 0.0, milliseconds(1000), false, milliseconds(0)) ==
        milliseconds(8000));
  CHECK(hookd::retry_delay(sched, 0.2, 1.0, milliseconds(100000), false, milliseconds(0)) ==
        milliseconds(24000));
  // Throttled with Retry-After: the clamp, then the minimum.
  CHECK(hookd::retry_delay(sched, 0.0, 0.5, milliseconds(15000), true, milliseconds(60000)) ==
        milliseconds(60000));
}

TEST_CASE("URLs are shown without credentials") {
  CHECK(hookd::redact_url("https://user:secret@siem.example.com:8443/x?y=1") ==
        "https://siem.example.com:8443/x?y=1");
  CHECK(hookd::redact_url("http://127.0.0.1:9/in") == "http://127.0.0.1:9/in");
}
