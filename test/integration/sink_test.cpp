// hookd-sink as a child process: signature checks with the Standard Webhooks
// vector, the three body formats, fault injection, the record file and the
// summary it prints on SIGTERM.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <ctime>
#include <sstream>

#include "support/support.h"

namespace {

using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::HttpConnection;
using hookd::test::Reply;
using Headers = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<Daemon> start_sink(std::vector<std::string> args) {
  DaemonOptions options;
  options.binary = HOOKD_SINK_BINARY;
  options.args = std::move(args);
  return std::make_unique<Daemon>(std::move(options));
}

boost::json::object stats(const Daemon& sink) {
  Reply reply = hookd::test::http(sink.port(), "GET", "/stats");
  REQUIRE(reply.status == 200);
  return boost::json::parse(reply.body).as_object();
}

std::int64_t count(const boost::json::object& summary, std::string_view key) {
  return summary.at(key).as_int64();
}

boost::json::object vector_fixture() {
  return boost::json::parse(hookd::test::fixture("standard-webhooks-vector.json")).as_object();
}

std::string field(const boost::json::object& object, std::string_view key) {
  return std::string(object.at(key).as_string());
}

// An independent signer (OpenSSL directly), so the sink is checked against
// the specification rather than against hookd's own signer.
std::string sign(const std::string& secret, const std::string& id, std::int64_t timestamp,
                 const std::string& body) {
  const std::string encoded = secret.substr(secret.find('_') + 1);
  std::string key(encoded.size(), '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(encoded.data()),
                               static_cast<int>(encoded.size()));
  REQUIRE(length > 0);
  length -= static_cast<int>(std::count(encoded.begin(), encoded.end(), '='));
  key.resize(static_cast<std::size_t>(length));
  const std::string message = id + "." + std::to_string(timestamp) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_length);
  std::string out(4 * ((mac_length + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(mac_length));
  return "v1," + out;
}

Headers signed_headers(const std::string& secret, const std::string& id, std::int64_t timestamp,
                       const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"webhook-id", id},
          {"webhook-timestamp", std::to_string(timestamp)},
          {"webhook-signature", sign(secret, id, timestamp, body)}};
}

std::string event(const std::string& id) {
  return R"({"id":")" + id +
         R"(","type":"session.open","timestamp":"2026-01-01T00:00:00.000Z","payload":{}})";
}

Reply post_webhook(unsigned short port, const std::string& id) {
  return hookd::test::post_json(port, "/hook", event(id), {{"webhook-id", id}});
}

std::string gzip(const std::string& text) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, text.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

TEST_CASE("the sink verifies Standard Webhooks signatures", "[sink]") {
  const auto vector = vector_fixture();
  const std::string secret = field(vector, "secret");

  SECTION("the published vector is accepted and a tampered body refused") {
    // The vector is from 2021: accept any timestamp age for it.
    auto sink = start_sink({"--secret", secret, "--tolerance", "0"});
    Headers headers = {{"Content-Type", "application/json"},
                       {"webhook-id", field(vector, "id")},
                       {"webhook-timestamp", std::to_string(vector.at("timestamp").as_int64())},
                       {"webhook-signature", field(vector, "signature")}};
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", field(vector, "body"), headers).status ==
          200);
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", R"({"test": 2432232315})", headers)
              .status == 401);
    headers.pop_back();
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", field(vector, "body"), headers).status ==
          401);
    auto summary = stats(*sink);
    CHECK(count(summary, "events") == 1);
    CHECK(count(summary, "invalid_signatures") == 2);
    CHECK(count(summary, "requests") == 3);
  }

  SECTION("fresh signatures pass the default tolerance, old ones do not") {
    auto sink = start_sink({"--secret", secret});
    const std::int64_t now = std::time(nullptr);
    const std::string body = event("evt_signed");
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", body,
                            signed_headers(secret, "evt_signed", now, body))
              .status == 200);
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", body,
                            signed_headers(secret, "evt_signed", now - 3600, body))
              .status == 401);
    // Signed with another secret.
    CHECK(
        hookd::test::http(sink->port(), "POST", "/hook", body,
                          signed_headers("whsec_" + std::string(32, 'A'), "evt_signed", now, body))
            .status == 401);
    // The signature covers the uncompressed body; gzip on the wire is fine.
    Headers gzipped = signed_headers(secret, "evt_signed", now, body);
    gzipped.emplace_back("Content-Encoding", "gzip");
    CHECK(hookd::test::http(sink->port(), "POST", "/hook", gzip(body), gzipped).status == 200);
    auto summary = stats(*sink);
    CHECK(count(summary, "events") == 2);
    CHECK(count(summary, "unique_ids") == 1);
    CHECK(count(summary, "duplicates") == 1);
    CHECK(count(summary, "invalid_signatures") == 2);
  }
}

TEST_CASE("the sink answers webhook bodies and checks their ids", "[sink]") {
  auto sink = start_sink({});
  CHECK(post_webhook(sink->port(), "evt_1").status == 200);
  // The header id and the body id must agree.
  CHECK(hookd::test::post_json(sink->port(), "/hook", event("evt_2"), {{"webhook-id", "evt_3"}})
            .status == 400);
  CHECK(hookd::test::post_json(sink->port(), "/hook", "not json").status == 400);
  CHECK(hookd::test::post_json(sink->port(), "/hook", "{}").status == 400);
  auto summary = stats(*sink);
  CHECK(count(summary, "events") == 1);
  CHECK(count(summary, "id_mismatches") == 1);
  CHECK(count(summary, "invalid_bodies") == 2);
  CHECK(count(summary.at("by_format").as_object(), "webhook") == 1);
}

TEST_CASE("splunk-hec and ndjson bodies are counted per event", "[sink]") {
  auto sink = start_sink({"--token", "tok-123"});
  std::string hec;
  for (const char* id : {"evt_h1", "evt_h2", "evt_h3"}) {
    hec +=
        R"({"time":1767225600.0,"host":"edge","source":"hookd","sourcetype":"hookd:event","event":)" +
        event(id) + "}\n";
  }
  Reply reply = hookd::test::http(sink->port(), "POST", "/services/collector/event", hec,
                                  {{"Authorization", "Splunk tok-123"}});
  CHECK(reply.status == 200);
  CHECK(reply.body.find("Success") != std::string::npos);
  CHECK(hookd::test::http(sink->port(), "POST", "/services/collector/event", hec,
                          {{"Authorization", "Splunk wrong"}})
            .status == 403);
  CHECK(hookd::test::http(sink->port(), "POST", "/services/collector/event", hec).status == 401);
  CHECK(hookd::test::http(sink->port(), "POST", "/services/collector/event",
                          "{\"event\":", {{"Authorization", "Splunk tok-123"}})
            .status == 400);

  const std::string ndjson =
      event("evt_n1") + "\n" + event("evt_n2") + "\n" + event("evt_n1") + "\n";
  CHECK(hookd::test::http(sink->port(), "POST", "/ingest", ndjson,
                          {{"Content-Type", "application/x-ndjson"}})
            .status == 200);
  CHECK(hookd::test::http(sink->port(), "POST", "/ndjson", event("evt_n3")).status == 200);

  auto summary = stats(*sink);
  CHECK(count(summary, "events") == 7);
  CHECK(count(summary, "unique_ids") == 6);
  CHECK(count(summary, "duplicates") == 1);
  CHECK(count(summary, "unauthorized") == 2);
  const auto& formats = summary.at("by_format").as_object();
  CHECK(count(formats, "splunk-hec") == 3);
  CHECK(count(formats, "ndjson") == 4);
}

TEST_CASE("the sink injects faults on request", "[sink]") {
  SECTION("--fail-rate 1 answers every request with 500") {
    auto sink = start_sink({"--fail-rate", "1"});
    for (int i = 0; i < 5; ++i)
      CHECK(post_webhook(sink->port(), "evt_f").status == 500);
    auto summary = stats(*sink);
    CHECK(count(summary.at("faults").as_object(), "500") == 5);
    CHECK(count(summary, "events") == 0);
    CHECK(count(summary, "events_seen") == 5);
  }
  SECTION("--gone answers 410") {
    auto sink = start_sink({"--gone"});
    for (int i = 0; i < 3; ++i)
      CHECK(post_webhook(sink->port(), "evt_g").status == 410);
    CHECK(count(stats(*sink).at("faults").as_object(), "410") == 3);
  }
  SECTION("--status-429-rate 1 sends Retry-After") {
    auto sink = start_sink({"--status-429-rate", "1", "--retry-after", "7"});
    Reply reply = post_webhook(sink->port(), "evt_429");
    CHECK(reply.status == 429);
    CHECK(reply.headers["retry-after"] == "7");
  }
  SECTION("--reset-rate 1 drops the connection without an answer") {
    auto sink = start_sink({"--reset-rate", "1"});
    CHECK(post_webhook(sink->port(), "evt_reset").status == 0);
    CHECK(count(stats(*sink).at("faults").as_object(), "reset") == 1);
  }
  SECTION("--fail-rate 0.5 fails roughly half") {
    auto sink = start_sink({"--fail-rate", "0.5", "--seed", "42"});
    HttpConnection connection(sink->port());
    int failed = 0;
    for (int i = 0; i < 200; ++i) {
      Reply reply = connection.request("POST", "/hook", event("evt_half_" + std::to_string(i)),
                                       {{"Content-Type", "application/json"}});
      REQUIRE((reply.status == 200 || reply.status == 500));
      failed += reply.status == 500 ? 1 : 0;
    }
    CHECK(failed > 50);
    CHECK(failed < 150);
    auto summary = stats(*sink);
    CHECK(count(summary, "events") == 200 - failed);
    CHECK(count(summary, "connections") == 2);  // the keep-alive one and this
  }
  SECTION("--fail-first limits faults to the first requests") {
    auto sink = start_sink({"--fail-rate", "1", "--fail-first", "2"});
    CHECK(post_webhook(sink->port(), "evt_first").status == 500);
    CHECK(post_webhook(sink->port(), "evt_first").status == 500);
    CHECK(post_webhook(sink->port(), "evt_first").status == 200);
    CHECK(post_webhook(sink->port(), "evt_later").status == 200);
    auto summary = stats(*sink);
    CHECK(count(summary.at("faults").as_object(), "500") == 2);
    CHECK(count(summary, "events") == 2);
  }
  SECTION("--fail-for limits faults to the first seconds of the sink's own clock") {
    // Both sides of the window without racing the start-up: a window that
    // outlasts the test, and one that /stats says is over.
    auto failing = start_sink({"--fail-rate", "1", "--fail-for", "3600"});
    CHECK(post_webhook(failing->port(), "evt_early").status == 500);
    auto recovered = start_sink({"--fail-rate", "1", "--fail-for", "0.2"});
    REQUIRE(hookd::test::wait_until([&] { return count(stats(*recovered), "uptime_ms") > 200; }));
    CHECK(post_webhook(recovered->port(), "evt_later").status == 200);
  }
}

TEST_CASE("the sink closes idle keep-alive connections and counts them", "[sink]") {
  auto sink = start_sink({"--idle-timeout-ms", "200"});
  HttpConnection connection(sink->port());
  CHECK(
      connection.request("POST", "/hook", event("evt_idle"), {{"Content-Type", "application/json"}})
          .status == 200);
  // Nothing more is sent: the sink closes it, the client reads the close.
  CHECK(connection.read_reply().status == 0);
  // stats() asks with Connection: close, so it never leaves an idle one.
  CHECK(hookd::test::wait_until([&] { return count(stats(*sink), "idle_closes") == 1; }));
  CHECK(count(stats(*sink), "idle_closes") == 1);
}

TEST_CASE("the record file has one line per event attempt", "[sink]") {
  hookd::test::TempDir dir;
  const auto record = dir.path() / "record.jsonl";
  auto sink = start_sink({"--record", record.string(), "--fail-rate", "1", "--fail-first", "1"});
  CHECK(post_webhook(sink->port(), "evt_r").status == 500);
  CHECK(post_webhook(sink->port(), "evt_r").status == 200);
  std::istringstream lines(hookd::test::read_file(record));
  std::vector<boost::json::object> records;
  for (std::string line; std::getline(lines, line);) {
    records.push_back(boost::json::parse(line).as_object());
  }
  REQUIRE(records.size() == 2);
  for (std::size_t i = 0; i < records.size(); ++i) {
    CHECK(field(records[i], "id") == "evt_r");
    CHECK(field(records[i], "webhook_id") == "evt_r");
    CHECK(records[i].at("attempt").as_int64() == static_cast<std::int64_t>(i + 1));
    CHECK(records[i].at("time_ms").as_int64() > 0);
  }
  CHECK(records.front().at("status").as_int64() == 500);
  CHECK(records.back().at("status").as_int64() == 200);
  CHECK(field(records.back(), "event_timestamp") == "2026-01-01T00:00:00.000Z");
}

TEST_CASE("the sink prints its summary on SIGTERM", "[sink]") {
  auto sink = start_sink({});
  CHECK(post_webhook(sink->port(), "evt_s1").status == 200);
  CHECK(post_webhook(sink->port(), "evt_s1").status == 200);
  const auto summary_path = sink->data_dir() / "sink-summary.json";
  CHECK(sink->terminate() == 0);
  auto summary = boost::json::parse(hookd::test::read_file(summary_path)).as_object();
  CHECK(count(summary, "requests") == 2);
  CHECK(count(summary, "events") == 2);
  CHECK(count(summary, "unique_ids") == 1);
  CHECK(count(summary, "duplicates") == 1);
  for (const char* key : {"invalid_signatures", "connections", "faults", "by_format"}) {
    CHECK(summary.contains(key));
  }
  // The same JSON went to stdout.
  CHECK(sink->log().find(boost::json::serialize(summary)) != std::string::npos);
}

TEST_CASE("the sink exits after --duration and rejects bad flags", "[sink]") {
  std::string output;
  CHECK(hookd::test::run_command(std::string(HOOKD_SINK_BINARY) + " --duration 0.2", &output) == 0);
  CHECK(output.find("\"requests\":0") != std::string::npos);
  CHECK(hookd::test::run_command(std::string(HOOKD_SINK_BINARY) + " --fail-rate 2", &output) == 2);
  CHECK(hookd::test::run_command(std::string(HOOKD_SINK_BINARY) + " --secret 'whsec_!!'",
                                 &output) == 2);
  CHECK(hookd::test::run_command(std::string(HOOKD_SINK_BINARY) + " --listen nowhere", &output) ==
        2);
}
