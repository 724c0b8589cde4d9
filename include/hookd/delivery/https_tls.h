// TLS for HttpsClient: the client context every connection of one pool
// shares (TLS 1.2+, peer verification against the system CAs or a given
// bundle, an optional client certificate) and the per-connection setup that
// makes the handshake check the origin's name or IP. Included only by the
// client's own sources and the syslog connection (it brings in Asio's SSL).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "hookd/core/result.h"
#include "hookd/delivery/https_client.h"
#include "hookd/delivery/https_messages.h"

namespace hookd {

// The error names the file (ca, cert, key) that cannot be used.
Result<std::unique_ptr<boost::asio::ssl::context>> make_tls_context(
    const HttpsClientOptions& options);

// SNI and the name the certificate must carry, or for an IP literal the IP
// (SNI must not carry one). False when OpenSSL refuses the name.
bool expect_peer(SSL* ssl, const Origin& origin);

}  // namespace hookd
