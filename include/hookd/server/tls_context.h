// TLS server contexts: a PEM certificate chain and its private key loaded
// into an OpenSSL context that speaks TLS 1.2 and later. A context is read
// at start-up and shared by every connection (OpenSSL locks it internally).
#pragma once

#include <memory>
#include <string>

#include "hookd/core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace hookd {

// The error starts with the file at fault, "certificate <file>: ..." or
// "key <file>: ...", so a caller can name the setting that points to it.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_server_context(
    const std::string& cert_file, const std::string& key_file);

}  // namespace hookd
