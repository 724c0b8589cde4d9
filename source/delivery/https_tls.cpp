#include "hookd/delivery/https_tls.h"

#include <openssl/x509v3.h>

namespace hookd {

namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<ssl::context>> make_tls_context(const HttpsClientOptions& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return Error{"tls: cannot require TLS 1.2"};
  }
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return Error{"ca: cannot load the system CA certificates: " + ec.message()};
  } else {
    context->load_verify_file(options.ca_file, ec);
    if (ec) return Error{"ca: cannot load " + options.ca_file + ": " + ec.message()};
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Error{options.cert_file.empty() ? "cert: required with key" : "key: required with cert"};
  }
  if (!options.cert_file.empty()) {
    context->use_certificate_chain_file(options.cert_file, ec);
    if (ec) return Error{"cert: cannot load " + options.cert_file + ": " + ec.message()};
    context->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return Error{"key: cannot load " + options.key_file + ": " + ec.message()};
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      return Error{"key: " + options.key_file + " does not match " + options.cert_file};
    }
  }
  return context;
}

bool expect_peer(SSL* ssl, const Origin& origin) {
  if (origin.host_is_ip) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin.host.c_str()) == 1;
  }
  return SSL_set_tlsext_host_name(ssl, origin.host.c_str()) == 1 &&
         SSL_set1_host(ssl, origin.host.c_str()) == 1;
}

}  // namespace hookd
