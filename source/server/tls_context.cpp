#include "hookd/server/tls_context.h"

#include <boost/asio/ssl/context.hpp>

namespace hookd {

namespace ssl = boost::asio::ssl;

Result<std::shared_ptr<ssl::context>> make_tls_server_context(const std::string& cert_file,
                                                              const std::string& key_file) {
  if (cert_file.empty()) return make_error("certificate: none given for the key");
  if (key_file.empty()) return make_error("key: none given for the certificate");
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return make_error("certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return make_error("key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return make_error("key " + key_file + " does not match the certificate");
  }
  return context;
}

}  // namespace hookd
