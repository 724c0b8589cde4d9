// TLS server contexts: a PEM certificate chain and its private key loaded
// into an OpenSSL context that speaks TLS 1.2 and 1.3 with forward-secret
// AEAD ciphers only and, with a client CA, asks every client for a
// certificate that CA signed (mTLS). A context is made at start-up and on
// SIGHUP, and shared by the connections that started with it (OpenSSL locks
// it internally).
#pragma once

#include <memory>
#include <string>

#include "hookd/core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace hookd {

// TLS 1.2 suites: ECDHE key exchange and AEAD only (no CBC, no static RSA,
// no SHA-1). TLS 1.3's own suites are all AEAD and forward secret.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The error starts with the file at fault, "certificate <file>: ...",
// "key <file>: ..." or "client CA <file>: ...", so a caller can name the
// setting that points to it. An empty client_ca_file: no client certificates.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server_context(
    const std::string& cert_file, const std::string& key_file,
    const std::string& client_ca_file = "");

}  // namespace hookd
