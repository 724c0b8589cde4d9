#include "hookd/server/tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>

namespace hookd {

namespace ssl = boost::asio::ssl;

namespace {

// Requires a client certificate signed by the CAs in `ca_file`, and names
// them in the CertificateRequest so a client picks the right one.
Status require_client_certificates(SSL_CTX* context, const std::string& ca_file) {
  if (SSL_CTX_load_verify_locations(context, ca_file.c_str(), nullptr) != 1) {
    return make_error("client CA " + ca_file + ": not a readable PEM certificate file");
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (!names || sk_X509_NAME_num(names) == 0) {
    if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
    return make_error("client CA " + ca_file + ": no certificate in it");
  }
  SSL_CTX_set_client_CA_list(context, names);  // takes ownership
  SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Resumed sessions must belong to this server's verified sessions.
  static const unsigned char kSessionContext[] = "hookd-mtls";
  SSL_CTX_set_session_id_context(context, kSessionContext, sizeof kSessionContext - 1);
  return Ok{};
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_tls_server_context(const std::string& cert_file,
                                                              const std::string& key_file,
                                                              const std::string& client_ca_file) {
  if (cert_file.empty()) return make_error("certificate: none given for the key");
  if (key_file.empty()) return make_error("key: none given for the certificate");
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use | ssl::context::no_compression);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(
          native, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") !=
          1) {
    return make_error("certificate " + cert_file + ": OpenSSL refused the cipher list");
  }
  boost::system::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return make_error("certificate " + cert_file + ": " + ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return make_error("key " + key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return make_error("key " + key_file + " does not match the certificate");
  }
  if (!client_ca_file.empty()) {
    if (auto required = require_client_certificates(native, client_ca_file); !required) {
      return required.error();
    }
  }
  return context;
}

}  // namespace hookd
