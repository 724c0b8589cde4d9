// verify_server_certificate against certificates made with the openssl CLI.
#include "hookd/runbooks/server_certificate.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "support/certificates.h"
#include "support/support.h"

using hookd::verify_server_certificate;
using hookd::test::TestCertificates;

namespace {

constexpr const char* kServerExtensions =
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.runbooks.example\n"
    "extendedKeyUsage=serverAuth\n";

// ca signs server, client and intermediate; intermediate signs inner.
const TestCertificates& certs() {
  static const auto made = [] {
    auto c = std::make_unique<TestCertificates>();
    c->make_ca("ca");
    c->make_ca("other-ca");
    c->make_leaf("server", "ca", kServerExtensions);
    c->make_leaf("client", "ca", "extendedKeyUsage=clientAuth\n");
    c->make_leaf("intermediate", "ca",
                 "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
    c->make_leaf("inner", "intermediate", kServerExtensions);
    hookd::test::write_file(c->dir() / "bundle.pem", hookd::test::read_file(c->pem("other-ca")) +
                                                         hookd::test::read_file(c->pem("ca")));
    return c;
  }();
  return *made;
}

}  // namespace

TEST_CASE("a server certificate is checked for its CA, purpose and name", "[certificate]") {
  struct Row {
    const char* leaf;
    const char* ca;  // file name in certs().dir()
    const char* host;
    const char* error;  // nullptr: trusted
  };
  const Row rows[] = {
      {"server", "ca.pem", "127.0.0.1", nullptr},
      {"server", "ca.pem", "localhost", nullptr},
      {"server", "ca.pem", "LOCALHOST", nullptr},
      {"server", "ca.pem", "git.runbooks.example", nullptr},
      {"server", "bundle.pem", "127.0.0.1", nullptr},
      {"server", "ca.pem", "10.0.0.1", "IP address mismatch"},
      {"server", "ca.pem", "[::1]", "IP address mismatch"},
      {"server", "ca.pem", "elsewhere.example", "hostname mismatch"},
      {"server", "ca.pem", "a.b.runbooks.example", "hostname mismatch"},
      {"server", "other-ca.pem", "127.0.0.1", "unable to get local issuer certificate"},
      {"client", "ca.pem", "127.0.0.1", "unsuitable certificate purpose"},
      {"inner", "intermediate.pem", "localhost", nullptr},
      {"inner", "other-ca.pem", "localhost", "unable to get local issuer certificate"},
      {"ca", "ca.pem", "localhost", "unsuitable certificate purpose"},  // a CA posing as a server
  };
  for (const Row& row : rows) {
    INFO(row.leaf << " with " << row.ca << " for " << row.host);
    auto verdict =
        verify_server_certificate(certs().dir() / row.ca, certs().der(row.leaf), row.host);
    if (row.error == nullptr) {
      INFO((verdict ? std::string() : verdict.error().message));
      CHECK(verdict.ok());
    } else {
      REQUIRE_FALSE(verdict.ok());
      CHECK(verdict.error().message == row.error);
    }
  }
}

TEST_CASE("an unreadable CA bundle or certificate is an error, not trust", "[certificate]") {
  std::string der = certs().der("server");
  auto missing = verify_server_certificate(certs().dir() / "missing.pem", der, "127.0.0.1");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("cannot load the CA bundle") != std::string::npos);

  hookd::test::write_file(certs().dir() / "empty.pem", "");
  auto empty = verify_server_certificate(certs().dir() / "empty.pem", der, "127.0.0.1");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message.find("cannot load the CA bundle") != std::string::npos);

  auto garbage = verify_server_certificate(certs().pem("ca"), "not DER at all", "127.0.0.1");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().message.find("not readable") != std::string::npos);

  auto truncated =
      verify_server_certificate(certs().pem("ca"), der.substr(0, der.size() / 2), "127.0.0.1");
  CHECK_FALSE(truncated.ok());
}
