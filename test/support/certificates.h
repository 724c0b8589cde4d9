// Test support: throwaway TLS certificates, made by the openssl tool.
#pragma once

#include <filesystem>
#include <string>

namespace hookd::test {

struct CertificateFiles {
  std::string cert;  // PEM certificate
  std::string key;   // its PEM private key
};

// A self-signed P-256 certificate for 127.0.0.1, valid for a day, written as
// <dir>/<name>.pem and <dir>/<name>.key. Throws std::runtime_error (with
// openssl's output) when openssl fails.
CertificateFiles make_self_signed_certificate(const std::filesystem::path& dir,
                                              const std::string& name);

}  // namespace hookd::test
