// HttpsClient against the real hookd-sink (HTTP and HTTPS, certificates made
// here with the openssl CLI): verification, mTLS, keep-alive, queueing,
// timeouts, redirects as statuses, and the stale keep-alive retry.
#include "hookd/delivery/https_client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <optional>

#include "hookd/core/metrics.h"
#include "support/skip.h"
#include "support/support.h"

namespace {

using hookd::HttpsClient;
using hookd::HttpsClientOptions;
using hookd::IncomingResponse;
using hookd::OutgoingRequest;
using hookd::Result;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TempDir;

// A CA, server certificates for 127.0.0.1/localhost and for another name, a
// client certificate, and a second unrelated CA. Made once per test binary.
struct Certs {
  TempDir dir;
  std::string path(const std::string& name) const { return (dir.path() / name).string(); }
};

void run_openssl(const Certs& certs, const std::string& command) {
  std::string output;
  const int rc = hookd::test::run_command(
      "(cd '" + certs.dir.path().string() + "' && " + command + ")", &output);
  INFO(command << "\n" << output);
  REQUIRE(rc == 0);
}

void make_ca(const Certs& certs, const std::string& name) {
  run_openssl(certs,
              "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
              " -keyout " +
                  name + ".key -out " + name + ".pem -days 2 -subj '/CN=" + name +
                  "' -addext basicConstraints=critical,CA:TRUE"
                  " -addext keyUsage=critical,keyCertSign,cRLSign");
}

void make_leaf(const Certs& certs, const std::string& name, const std::string& extensions) {
  hookd::test::write_file(certs.dir.path() / (name + ".ext"), extensions);
  run_openssl(certs,
              "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
              " -keyout " +
                  name + ".key -out " + name + ".csr -subj '/CN=" + name +
                  "' && openssl x509 -req -in " + name +
                  ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -CAserial ca.srl"
                  " -days 2 -out " +
                  name + ".pem -extfile " + name + ".ext");
}

const Certs& certs() {
  static std::unique_ptr<Certs> certs;
  if (!certs) {
    certs = std::make_unique<Certs>();
    make_ca(*certs, "ca");
    make_ca(*certs, "other-ca");
    make_leaf(*certs, "server",
              "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
              "extendedKeyUsage=serverAuth\n");
    make_leaf(*certs, "elsewhere",
              "subjectAltName=DNS:elsewhere.example,IP:10.9.9.9\n"
              "extendedKeyUsage=serverAuth\n");
    make_leaf(*certs, "client", "extendedKeyUsage=clientAuth\n");
  }
  return *certs;
}

std::unique_ptr<Daemon> start_sink(std::vector<std::string> args) {
  DaemonOptions options;
  options.binary = HOOKD_SINK_BINARY;
  options.args = std::move(args);
  return std::make_unique<Daemon>(std::move(options));
}

std::vector<std::string> tls_args(const std::string& leaf = "server") {
  return {"--cert", certs().path(leaf + ".pem"), "--key", certs().path(leaf + ".key")};
}

std::shared_ptr<HttpsClient> make_client(boost::asio::io_context& io, HttpsClientOptions options) {
  auto client = HttpsClient::create(io, std::move(options));
  INFO((client ? "" : client.error().message));
  REQUIRE(client);
  return client.value();
}

HttpsClientOptions tls_options(unsigned short port, const std::string& label) {
  HttpsClientOptions options;
  options.url = "https://127.0.0.1:" + std::to_string(port) + "/hook";
  options.ca_file = certs().path("ca.pem");
  options.metrics_label = label;
  return options;
}

OutgoingRequest webhook(const std::string& id) {
  OutgoingRequest request;
  request.headers = {{"Content-Type", "application/json"}, {"webhook-id", id}};
  request.body = R"({"id":")" + id + R"(","type":"session.open","payload":{}})";
  return request;
}

OutgoingRequest get(const std::string& target) {
  OutgoingRequest request;
  request.method = "GET";
  request.target = target;
  return request;
}

// Sends one request and runs the io_context until it is answered.
Result<IncomingResponse> send_one(boost::asio::io_context& io, HttpsClient& client,
                                  OutgoingRequest request) {
  std::optional<Result<IncomingResponse>> out;
  client.send(std::move(request), [&](Result<IncomingResponse> r) { out.emplace(std::move(r)); });
  io.restart();
  io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

int status_of(const Result<IncomingResponse>& result) {
  INFO((result ? "" : result.error().message));
  REQUIRE(result);
  return result->status;
}

std::string error_of(const Result<IncomingResponse>& result) {
  REQUIRE_FALSE(result);
  return result.error().message;
}

boost::json::object stats(boost::asio::io_context& io, HttpsClient& client) {
  auto reply = send_one(io, client, get("/stats"));
  REQUIRE(status_of(reply) == 200);
  return boost::json::parse(reply->body).as_object();
}

double counter(const std::string& name, const std::string& label) {
  return hookd::metrics().counter(name, "", {{"endpoint", label}}).value();
}

}  // namespace

TEST_CASE("https with the right CA gets the server's answer", "[https_client]") {
  auto sink = start_sink(tls_args());
  boost::asio::io_context io;
  auto client = make_client(io, tls_options(sink->port(), "right-ca"));
  auto reply = send_one(io, *client, webhook("evt_right_ca"));
  REQUIRE(status_of(reply) == 200);
  CHECK(reply->header("Server") == "hookd-sink");
  CHECK(reply->header("content-type") == "application/json");
  for (const auto& header : reply->headers) {
    CHECK(std::none_of(header.first.begin(), header.first.end(),
                       [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
  }
  CHECK(stats(io, *client)["events"].as_int64() == 1);

  SECTION("a host name resolves and is verified too (SNI)") {
    auto options = tls_options(sink->port(), "right-ca-name");
    options.url = "https://localhost:" + std::to_string(sink->port()) + "/hook";
    auto by_name = make_client(io, options);
    CHECK(status_of(send_one(io, *by_name, webhook("evt_by_name"))) == 200);
  }
}

TEST_CASE("a certificate from another CA fails with a tls error", "[https_client]") {
  auto sink = start_sink(tls_args());
  boost::asio::io_context io;
  auto options = tls_options(sink->port(), "wrong-ca");
  options.ca_file = certs().path("other-ca.pem");
  auto client = make_client(io, options);
  const std::string error = error_of(send_one(io, *client, webhook("evt_wrong_ca")));
  CHECK(error.rfind("tls: ", 0) == 0);
  CHECK(error.find("verify failed") != std::string::npos);

  SECTION("the system CAs do not trust it either") {
    options.ca_file.clear();
    auto system = make_client(io, options);
    CHECK(error_of(send_one(io, *system, webhook("evt_system_ca"))).rfind("tls: ", 0) == 0);
  }
}

TEST_CASE("a certificate for another host name fails verification", "[https_client]") {
  auto sink = start_sink(tls_args("elsewhere"));
  boost::asio::io_context io;
  auto client = make_client(io, tls_options(sink->port(), "mismatch"));
  const std::string error = error_of(send_one(io, *client, webhook("evt_mismatch")));
  CHECK(error.rfind("tls: ", 0) == 0);
  CHECK(error.find("mismatch") != std::string::npos);

  auto options = tls_options(sink->port(), "mismatch-name");
  options.url = "https://localhost:" + std::to_string(sink->port()) + "/hook";
  auto by_name = make_client(io, options);
  CHECK(error_of(send_one(io, *by_name, webhook("evt_mismatch"))).find("mismatch") !=
        std::string::npos);
}

TEST_CASE("mutual TLS works with a client certificate and fails without", "[https_client]") {
  auto args = tls_args();
  args.insert(args.end(), {"--client-ca", certs().path("ca.pem")});
  auto sink = start_sink(args);
  boost::asio::io_context io;

  auto options = tls_options(sink->port(), "mtls");
  options.cert_file = certs().path("client.pem");
  options.key_file = certs().path("client.key");
  auto with_cert = make_client(io, options);
  CHECK(status_of(send_one(io, *with_cert, webhook("evt_mtls"))) == 200);

  auto without = make_client(io, tls_options(sink->port(), "mtls-none"));
  CHECK(error_of(send_one(io, *without, webhook("evt_mtls_none"))).rfind("tls: ", 0) == 0);
  CHECK(stats(io, *with_cert)["events"].as_int64() == 1);
}

TEST_CASE("an IPv6 literal host is verified against the certificate's IP", "[https_client]") {
  // Daemon always listens on 127.0.0.1, so this sink is spawned directly.
  if (!hookd::test::has_ipv6_loopback()) HOOKD_SKIP("this machine has no ::1 (/proc/net/if_inet6)");
  TempDir dir;
  const auto port_file = dir.path() / "port";
  std::vector<std::string> args = {HOOKD_SINK_BINARY,
                                   "--listen",
                                   "[::1]:0",
                                   "--port-file",
                                   port_file.string(),
                                   "--cert",
                                   certs().path("server.pem"),
                                   "--key",
                                   certs().path("server.key")};
  const auto log = dir.path() / "sink.log";
  hookd::test::ChildProcess sink(args, log);
  const bool listening = hookd::test::wait_until(
      [&] {
        const std::string text = hookd::test::read_file(port_file);
        return !text.empty() && text.back() == '\n';
      },
      std::chrono::seconds(10));
  INFO(hookd::test::read_file(log));
  REQUIRE(listening);
  const std::string port = hookd::test::read_file(port_file);
  boost::asio::io_context io;
  auto options = tls_options(0, "ipv6");
  options.url = "https://[::1]:" + port.substr(0, port.size() - 1) + "/hook";
  auto client = make_client(io, options);
  CHECK(status_of(send_one(io, *client, webhook("evt_v6"))) == 200);
}

TEST_CASE("plain http works", "[https_client]") {
  auto sink = start_sink({});
  boost::asio::io_context io;
  HttpsClientOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(sink->port());
  options.user_agent = "hookd/test";
  auto client = make_client(io, options);
  CHECK(status_of(send_one(io, *client, webhook("evt_plain"))) == 200);
  CHECK(status_of(send_one(io, *client, get("/healthz"))) == 200);
}

TEST_CASE("sequential requests reuse one keep-alive connection", "[https_client]") {
  auto sink = start_sink(tls_args());
  boost::asio::io_context io;
  auto client = make_client(io, tls_options(sink->port(), "keep-alive"));
  for (int i = 0; i < 20; ++i) {
    REQUIRE(status_of(send_one(io, *client, webhook("evt_ka_" + std::to_string(i)))) == 200);
  }
  auto summary = stats(io, *client);
  CHECK(summary["requests"].as_int64() == 20);
  CHECK(summary["events"].as_int64() == 20);
  CHECK(summary["connections"].as_int64() == 1);
  CHECK(counter("hookd_https_client_connects_total", "keep-alive") == 1);
}

TEST_CASE("requests beyond the pool size wait their turn", "[https_client]") {
  auto args = tls_args();
  args.insert(args.end(), {"--delay-ms", "50"});
  auto sink = start_sink(args);
  boost::asio::io_context io;
  auto options = tls_options(sink->port(), "queue");
  options.connections = 2;
  auto client = make_client(io, options);
  std::vector<int> statuses;
  for (int i = 0; i < 10; ++i) {
    client->send(webhook("evt_q_" + std::to_string(i)),
                 [&](Result<IncomingResponse> r) { statuses.push_back(r ? r->status : -1); });
  }
  io.run();
  CHECK(statuses == std::vector<int>(10, 200));
  auto summary = stats(io, *client);
  CHECK(summary["events"].as_int64() == 10);
  CHECK(summary["connections"].as_int64() <= 2);
}

TEST_CASE("a server slower than the timeout gives a timeout error", "[https_client]") {
  auto args = tls_args();
  args.insert(args.end(), {"--delay-ms", "3000"});
  auto sink = start_sink(args);
  boost::asio::io_context io;
  auto options = tls_options(sink->port(), "timeout");
  options.timeout = std::chrono::milliseconds(300);
  auto client = make_client(io, options);
  CHECK(error_of(send_one(io, *client, webhook("evt_slow"))).rfind("timeout: ", 0) == 0);
}

TEST_CASE("a redirect is returned as a status, not followed", "[https_client]") {
  auto args = tls_args();
  args.insert(args.end(), {"--status", "302"});
  auto sink = start_sink(args);
  boost::asio::io_context io;
  auto client = make_client(io, tls_options(sink->port(), "redirect"));
  auto reply = send_one(io, *client, webhook("evt_redirect"));
  CHECK(status_of(reply) == 302);
  CHECK(reply->header("location") == "/redirected");
  CHECK(stats(io, *client)["requests"].as_int64() == 1);
}

TEST_CASE("a keep-alive connection the server closed is retried once", "[https_client]") {
  auto args = tls_args();
  args.insert(args.end(), {"--idle-timeout-ms", "200"});
  auto sink = start_sink(args);
  boost::asio::io_context io;
  auto client = make_client(io, tls_options(sink->port(), "stale"));
  REQUIRE(status_of(send_one(io, *client, webhook("evt_stale_1"))) == 200);
  // Wait until the sink has closed the idle connection; the client still
  // holds it. The probe asks with Connection: close, so it never leaves an
  // idle connection of its own to be counted.
  auto probe = make_client(io, tls_options(sink->port(), "stale-probe"));
  auto idle_closes = [&] {
    auto request = get("/stats");
    request.headers.emplace_back("Connection", "close");
    auto reply = send_one(io, *probe, std::move(request));
    REQUIRE(status_of(reply) == 200);
    return boost::json::parse(reply->body).at("idle_closes").as_int64();
  };
  REQUIRE(hookd::test::wait_until([&] { return idle_closes() == 1; }));
  REQUIRE(status_of(send_one(io, *client, webhook("evt_stale_2"))) == 200);
  CHECK(counter("hookd_https_client_stale_retries_total", "stale") == 1);
  CHECK(stats(io, *client)["events"].as_int64() == 2);
}

TEST_CASE("transport failures are errors with a category", "[https_client]") {
  boost::asio::io_context io;
  SECTION("nothing listening") {
    HttpsClientOptions options;
    options.url = "http://127.0.0.1:" + std::to_string(hookd::test::free_port()) + "/";
    auto client = make_client(io, options);
    CHECK(error_of(send_one(io, *client, webhook("evt_refused"))).rfind("connect: ", 0) == 0);
  }
  SECTION("the server resets the connection") {
    auto sink = start_sink({"--reset-rate", "1"});
    HttpsClientOptions options;
    options.url = "http://127.0.0.1:" + std::to_string(sink->port()) + "/";
    auto client = make_client(io, options);
    CHECK(error_of(send_one(io, *client, webhook("evt_reset"))).rfind("io: ", 0) == 0);
  }
  SECTION("an invalid header is refused before sending") {
    HttpsClientOptions options;
    options.url = "http://127.0.0.1:1/";
    auto client = make_client(io, options);
    auto request = webhook("evt_bad_header");
    request.headers.emplace_back("X-Bad", "a\r\nInjected: yes");
    CHECK(error_of(send_one(io, *client, request)).rfind("request: ", 0) == 0);
  }
}

TEST_CASE("close() fails queued requests and lets the running one finish", "[https_client]") {
  auto sink = start_sink({"--delay-ms", "100"});
  boost::asio::io_context io;
  HttpsClientOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(sink->port()) + "/";
  options.connections = 1;
  auto client = make_client(io, options);
  std::vector<std::string> outcomes;
  for (int i = 0; i < 3; ++i) {
    client->send(webhook("evt_close_" + std::to_string(i)), [&](Result<IncomingResponse> r) {
      outcomes.push_back(r ? std::to_string(r->status) : r.error().message.substr(0, 7));
    });
  }
  client->close();
  io.run();
  CHECK(outcomes == std::vector<std::string>{"closed:", "closed:", "200"});
  client->send(webhook("evt_after_close"), [&](Result<IncomingResponse> r) {
    outcomes.push_back(r ? std::to_string(r->status) : r.error().message.substr(0, 7));
  });
  io.restart();
  io.run();
  CHECK(outcomes.back() == "closed:");
}

TEST_CASE("create() checks the URL and the certificate files", "[https_client]") {
  boost::asio::io_context io;
  auto error = [&](HttpsClientOptions options) {
    auto client = HttpsClient::create(io, std::move(options));
    return client ? std::string("ok") : client.error().message;
  };
  HttpsClientOptions options;
  for (const char* url : {"ftp://example.com/", "https://", "not a url", "http://host:99999/",
                          "http://user:pw@host/"}) {
    options.url = url;
    INFO(url);
    CHECK(error(options).rfind("url: ", 0) == 0);
  }
  options.url = "http://[::1]:8080/x?y=1";
  CHECK(error(options) == "ok");
  options.url = "https://example.com";
  CHECK(error(options) == "ok");
  options.ca_file = "/nonexistent/ca.pem";
  CHECK(error(options).rfind("ca: ", 0) == 0);
  options.ca_file = certs().path("ca.pem");
  options.cert_file = certs().path("client.pem");
  CHECK(error(options).rfind("key: ", 0) == 0);
  options.key_file = certs().path("server.key");
  CHECK(error(options).rfind("key: ", 0) == 0);  // does not match
  options.key_file = certs().path("client.key");
  CHECK(error(options) == "ok");
  options.connections = 0;
  CHECK(error(options).rfind("connections: ", 0) == 0);
}
