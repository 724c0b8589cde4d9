// Inbound TLS on the real daemon, with certificates the openssl CLI makes at
// test time: TLS 1.2+ with forward-secret AEAD ciphers only, --tls-client-ca
// (mTLS: no certificate or one from another CA is refused, the right one
// gets 202), and SIGHUP swapping the server certificate for new connections
// while an open keep-alive connection goes on working.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <regex>
#include <string>

#include "support/certificates.h"
#include "support/support.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using hookd::test::Daemon;
using hookd::test::DaemonOptions;
using hookd::test::TestCertificates;
using namespace std::chrono_literals;

const std::string kEvent = R"({"type":"session.open","payload":{"user":"alice@example.com"}})";

struct ClientOptions {
  std::string trust;          // CA file the client verifies the server with
  std::string cert, key;      // the client's certificate; empty: none
  int min_version = 0;        // 0: OpenSSL's default
  int max_version = 0;        // 0: OpenSSL's default
  std::string tls12_ciphers;  // empty: OpenSSL's default
};

// One TLS connection to 127.0.0.1:port; every operation is bounded by the
// stream's timeout, so a server that never answers fails the test.
class TlsClient {
 public:
  TlsClient(unsigned short port, const ClientOptions& o) : context_(ssl::context::tls_client) {
    SSL_CTX* native = context_.native_handle();
    if (o.min_version) SSL_CTX_set_min_proto_version(native, o.min_version);
    if (o.max_version) SSL_CTX_set_max_proto_version(native, o.max_version);
    if (!o.tls12_ciphers.empty()) SSL_CTX_set_cipher_list(native, o.tls12_ciphers.c_str());
    context_.load_verify_file(o.trust);
    if (!o.cert.empty()) {
      context_.use_certificate_chain_file(o.cert);
      context_.use_private_key_file(o.key, ssl::context::pem);
    }
    // SSL_new copies the context's settings: the stream comes after them.
    stream_.emplace(io_, context_);
    stream_->set_verify_mode(ssl::verify_peer);
    stream_->set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    auto& lowest = beast::get_lowest_layer(*stream_);
    lowest.expires_after(hookd::test::kHttpTimeout);
    lowest.socket().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), error_);
    if (error_) return;
    stream_->async_handshake(ssl::stream_base::client,
                             [this](beast::error_code ec) { error_ = ec; });
    run();
  }

  bool handshake_ok() const { return !error_; }
  std::string error() const { return error_.message(); }

  // The status of one request on this connection; 0 when no HTTP answer came.
  int request(const std::string& method, const std::string& target, const std::string& body = "",
              std::string* answer = nullptr) {
    if (error_) return 0;
    bhttp::request<bhttp::string_body> request{
        method == "POST" ? bhttp::verb::post : bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    if (!body.empty()) request.set(bhttp::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    bhttp::response<bhttp::string_body> response;
    beast::error_code ec;
    beast::get_lowest_layer(*stream_).expires_after(hookd::test::kHttpTimeout);
    bhttp::async_write(*stream_, request, [&](beast::error_code e, std::size_t) {
      if (e) {
        ec = e;
        return;
      }
      bhttp::async_read(*stream_, buffer_, response,
                        [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    run();
    if (ec) {
      error_ = ec;
      return 0;
    }
    if (answer) *answer = response.body();
    return response.result_int();
  }

  // The server's certificate on this connection, DER-encoded.
  std::string server_certificate() {
    X509* peer = SSL_get1_peer_certificate(stream_->native_handle());
    if (!peer) return "";
    unsigned char* der = nullptr;
    int size = i2d_X509(peer, &der);
    std::string out = size > 0 ? std::string(reinterpret_cast<char*>(der), size) : "";
    OPENSSL_free(der);
    X509_free(peer);
    return out;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  net::io_context io_;
  ssl::context context_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

// The server side of a refused attempt: hookd counts each failed handshake.
double tls_errors(unsigned short port, const ClientOptions& client) {
  std::string metrics;
  TlsClient probe(port, client);
  if (probe.request("GET", "/metrics", "", &metrics) != 200) return -1;
  std::smatch match;
  static const std::regex line(R"re(hookd_http_request_errors_total\{reason="tls"\} (\S+))re");
  return std::regex_search(metrics, match, line) ? std::stod(match[1]) : 0;
}

// A CA for servers, one for clients, one nobody trusts, and their leaves.
struct Certificates {
  TestCertificates files;
  Certificates() {
    files.make_ca("server-ca");
    const std::string server = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    files.make_leaf("server-a", "server-ca", server);
    files.make_leaf("server-b", "server-ca", server);
    files.make_ca("client-ca");
    files.make_leaf("client", "client-ca", "extendedKeyUsage=clientAuth\n");
    files.make_ca("other-ca");
    files.make_leaf("intruder", "other-ca", "extendedKeyUsage=clientAuth\n");
  }
  std::string pem(const std::string& name) const { return files.pem(name).string(); }
  std::string key(const std::string& name) const { return files.key(name).string(); }
  ClientOptions client(const std::string& name = "") const {
    ClientOptions o;
    o.trust = pem("server-ca");
    if (!name.empty()) {
      o.cert = pem(name);
      o.key = key(name);
    }
    return o;
  }
};

}  // namespace

TEST_CASE(
    "mTLS (--tls-client-ca): no client certificate or another CA's is refused, the right one 202",
    "[security][tls][mtls]") {
  Certificates certs;
  DaemonOptions options;
  options.args = {"--tls-cert",          certs.pem("server-a"), "--tls-key",
                  certs.key("server-a"), "--tls-client-ca",     certs.pem("client-ca")};
  Daemon daemon(options);
  const unsigned short port = daemon.port();

  TlsClient right(port, certs.client("client"));
  INFO(right.error());
  REQUIRE(right.handshake_ok());
  CHECK(right.request("POST", "/v1/events", kEvent) == 202);
  CHECK(right.request("POST", "/v1/events", kEvent) == 202);  // keep-alive

  const double before = tls_errors(port, certs.client("client"));
  REQUIRE(before >= 0);
  for (const char* who : {"", "intruder"}) {
    INFO("client certificate: " << (*who ? who : "none"));
    // TLS 1.3 clients finish their side before the server checks their
    // certificate: the refusal shows on the first read, with no HTTP answer.
    TlsClient refused(port, certs.client(who));
    CHECK(refused.request("POST", "/v1/events", kEvent) == 0);
    // In TLS 1.2 the handshake itself fails.
    ClientOptions tls12 = certs.client(who);
    tls12.max_version = TLS1_2_VERSION;
    TlsClient refused12(port, tls12);
    CHECK_FALSE(refused12.handshake_ok());
    CHECK(refused12.request("POST", "/v1/events", kEvent) == 0);
  }
  // The server refused all four (the client did not just give up).
  CHECK(hookd::test::wait_until(
      [&] { return tls_errors(port, certs.client("client")) >= before + 4; }));
  // A server certificate is no client certificate.
  ClientOptions server_as_client = certs.client("server-a");
  server_as_client.trust = certs.pem("server-ca");
  TlsClient wrong_kind(port, server_as_client);
  CHECK(wrong_kind.request("POST", "/v1/events", kEvent) == 0);
}

TEST_CASE("inbound TLS speaks TLS 1.2+ with forward-secret AEAD ciphers only", "[security][tls]") {
  Certificates certs;
  DaemonOptions options;
  options.args = {"--tls-cert", certs.pem("server-a"), "--tls-key", certs.key("server-a")};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  const ClientOptions good = certs.client();
  const double before = tls_errors(port, good);
  REQUIRE(before >= 0);

  struct Attempt {
    const char* name;
    int max_version;
    const char* ciphers;
    bool accepted;
  };
  const Attempt attempts[] = {
      {"TLS 1.3", 0, "", true},
      {"TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256",
       true},
      {"TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305",
       true},
      // The client offers these; the server must say no.
      {"TLS 1.2 CBC with SHA-1", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", false},
      {"TLS 1.2 CBC with SHA-256", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0", false},
      {"TLS 1.1", TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0", false},
      {"TLS 1.0", TLS1_VERSION, "DEFAULT:@SECLEVEL=0", false},
  };
  int refused = 0;
  for (const Attempt& a : attempts) {
    INFO(a.name);
    ClientOptions o = good;
    o.min_version = TLS1_VERSION;
    o.max_version = a.max_version;
    o.tls12_ciphers = a.ciphers;
    TlsClient client(port, o);
    INFO(client.error());
    CHECK(client.handshake_ok() == a.accepted);
    CHECK((client.request("POST", "/v1/events", kEvent) == 202) == a.accepted);
    if (!a.accepted) ++refused;
  }
  // Each refusal was the server's.
  CHECK(hookd::test::wait_until([&] { return tls_errors(port, good) >= before + refused; }));
}

TEST_CASE("SIGHUP swaps the server certificate for new connections, open ones keep working",
          "[security][tls][reload]") {
  Certificates certs;
  hookd::test::TempDir dir;
  const fs::path cert = dir.path() / "server.pem";
  const fs::path key = dir.path() / "server.key";
  auto install = [&](const std::string& name) {
    fs::copy_file(certs.pem(name), cert, fs::copy_options::overwrite_existing);
    fs::copy_file(certs.key(name), key, fs::copy_options::overwrite_existing);
  };
  install("server-a");
  DaemonOptions options;
  options.args = {"--tls-cert", cert.string(),     "--tls-key",
                  key.string(), "--tls-client-ca", certs.pem("client-ca")};
  Daemon daemon(options);
  const unsigned short port = daemon.port();
  const std::string a = certs.files.der("server-a");
  const std::string b = certs.files.der("server-b");
  REQUIRE(a != b);

  TlsClient old_connection(port, certs.client("client"));
  REQUIRE(old_connection.handshake_ok());
  CHECK(old_connection.request("POST", "/v1/events", kEvent) == 202);
  CHECK(old_connection.server_certificate() == a);

  install("server-b");
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  // The signal is handled on a reactor: new connections see b once it is.
  std::string seen;
  CHECK(hookd::test::wait_until([&] {
    TlsClient fresh(port, certs.client("client"));
    seen = fresh.server_certificate();
    return seen == b && fresh.request("POST", "/v1/events", kEvent) == 202;
  }));
  // The connection opened before the reload was not dropped.
  CHECK(old_connection.request("POST", "/v1/events", kEvent) == 202);
  CHECK(old_connection.server_certificate() == a);

  // A certificate that does not load changes nothing: b stays.
  hookd::test::write_file(cert, "not a certificate\n");
  REQUIRE(::kill(daemon.pid(), SIGHUP) == 0);
  CHECK(hookd::test::wait_until(
      [&] { return daemon.log().find("TLS reload failed") != std::string::npos; }));
  TlsClient after_failure(port, certs.client("client"));
  CHECK(after_failure.server_certificate() == b);
  CHECK(after_failure.request("POST", "/v1/events", kEvent) == 202);
  CHECK(old_connection.request("POST", "/v1/events", kEvent) == 202);
  CHECK(daemon.running());
}
