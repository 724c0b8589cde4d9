// Trust for an https:// runbooks remote signed by a private CA (--git-ca):
// libgit2 only knows the system CAs, so the fetch's certificate callback asks
// this check instead. A pure function; thread-safe.
#pragma once

#include <filesystem>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

// Whether the server certificate `der` (DER, as libgit2's callback hands it:
// the leaf alone) chains to a certificate in the PEM bundle `ca_file`, is
// valid now, is meant for TLS servers and names `host` (a DNS name, or an IP
// address checked against IP SANs). Any certificate in the bundle may anchor
// the chain, so a bundle holding only an intermediate CA is enough; since the
// server's own intermediates are not handed over, a bundle with only the root
// above one is not. The error says why, in OpenSSL's words.
Status verify_server_certificate(const std::filesystem::path& ca_file, std::string_view der,
                                 std::string_view host);

}  // namespace hookd
