// Certificates for TLS tests, made with the openssl CLI in a temporary
// directory: self-signed CAs and the certificates they sign (EC P-256, valid
// two days). <name>.pem is the certificate, <name>.key its private key.
// Not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "support/support.h"

namespace hookd::test {

class TestCertificates {
 public:
  // Each throws std::runtime_error with openssl's output when a command fails.
  void make_ca(const std::string& name);
  // Signed by the CA `ca` (made before). `extensions` are openssl -extfile
  // lines, e.g. "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".
  void make_leaf(const std::string& name, const std::string& ca, const std::string& extensions);
  // The certificate <name>.pem, DER-encoded.
  std::string der(const std::string& name) const;

  std::filesystem::path pem(const std::string& name) const { return dir_.path() / (name + ".pem"); }
  std::filesystem::path key(const std::string& name) const { return dir_.path() / (name + ".key"); }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  void run_openssl(const std::string& command) const;
  TempDir dir_;
};

// A self-signed P-256 certificate for 127.0.0.1, valid for a day, written as
// <dir>/<name>.pem and <dir>/<name>.key, for a server that only needs some
// certificate. Throws std::runtime_error (with openssl's output) on failure.
struct CertificateFiles {
  std::string cert;  // PEM certificate
  std::string key;   // its PEM private key
};
CertificateFiles make_self_signed_certificate(const std::filesystem::path& dir,
                                              const std::string& name);

}  // namespace hookd::test
