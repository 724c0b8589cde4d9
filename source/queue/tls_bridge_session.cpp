#include "tls_bridge_session.h"

#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <type_traits>

#include "hookd/core/log.h"

namespace hookd {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

void BridgeReport::failed(const std::string& why) {
  std::lock_guard lock(mutex_);
  if (why != problem_) log::error("redis TLS connection failed", {{"url", url_}, {"reason", why}});
  problem_ = why;
}

void BridgeReport::connected() {
  std::lock_guard lock(mutex_);
  if (!problem_.empty() || !ever_connected_) log::info("redis TLS connected", {{"url", url_}});
  problem_.clear();
  ever_connected_ = true;
}

std::string BridgeReport::problem() const {
  std::lock_guard lock(mutex_);
  return problem_;
}

TlsBridgeSession::TlsBridgeSession(asio::local::stream_protocol::socket local,
                                   ssl::context& context, const BridgeTarget& target,
                                   std::shared_ptr<BridgeReport> report)
    : local_(std::move(local)),
      tls_(local_.get_executor(), context),
      resolver_(local_.get_executor()),
      deadline_(local_.get_executor()),
      up_deadline_(local_.get_executor()),
      down_deadline_(local_.get_executor()),
      target_(target),
      report_(std::move(report)) {}

void TlsBridgeSession::start() {
  deadline_.expires_after(target_.connect_timeout);
  deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->fail(asio::error::timed_out, "connect and TLS handshake");
  });
  // Asio resolves on a private thread: the bridge's reactor never blocks.
  resolver_.async_resolve(
      target_.host, target_.port,
      [self = shared_from_this()](const error_code& ec,
                                  const asio::ip::tcp::resolver::results_type& results) {
        self->on_resolve(ec, results);
      });
}

void TlsBridgeSession::on_resolve(const error_code& ec,
                                  const asio::ip::tcp::resolver::results_type& results) {
  if (ec) return fail(ec, "resolve");
  if (ended_) return;
  asio::async_connect(
      tls_.lowest_layer(), results,
      [self = shared_from_this()](const error_code& ec, const auto&) { self->on_connect(ec); });
}

void TlsBridgeSession::on_connect(const error_code& ec) {
  if (ec) return fail(ec, "connect");
  if (ended_) return;
  error_code ignored;
  tls_.lowest_layer().set_option(asio::ip::tcp::no_delay(true), ignored);
  tls_.lowest_layer().set_option(asio::socket_base::keep_alive(true), ignored);
  // The certificate must name the URL's host: its IP for an IP literal
  // (which SNI must not carry), else the DNS name, also sent as SNI.
  SSL* ssl = tls_.native_handle();
  bool named = target_.host_is_ip
                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), target_.host.c_str()) == 1
                   : SSL_set_tlsext_host_name(ssl, target_.host.c_str()) == 1 &&
                         SSL_set1_host(ssl, target_.host.c_str()) == 1;
  if (!named) return fail(asio::error::invalid_argument, "set the expected server name");
  tls_.async_handshake(ssl::stream_base::client, [self = shared_from_this()](const error_code& ec) {
    self->on_handshake(ec);
  });
}

void TlsBridgeSession::on_handshake(const error_code& ec) {
  if (ec) return fail(ec, "TLS handshake");
  if (ended_) return;
  deadline_.cancel();
  relaying_ = true;
  report_->connected();
  relay(local_, tls_, up_, up_deadline_, "read from hiredis", "write to redis");
  relay(tls_, local_, down_, down_deadline_, "read from redis", "write to hiredis");
}

namespace {
// Long enough for the API objects' blocking connection, which only notices
// the end at its next call (every 500 ms); short enough that a client that
// never closes holds no descriptor for long.
constexpr std::chrono::seconds kDrainLimit{30};
}  // namespace

template <class From, class To>
void TlsBridgeSession::relay(From& from, To& to, Buffer& buffer, asio::steady_timer& deadline,
                             const char* reads, const char* writes) {
  constexpr bool from_hiredis = std::is_same_v<From, asio::local::stream_protocol::socket>;
  if constexpr (from_hiredis) reading_local_ = true;
  from.async_read_some(asio::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer,
                                              &deadline, reads,
                                              writes](const error_code& ec, std::size_t n) {
    if constexpr (from_hiredis) {
      self->reading_local_ = false;
      if (self->ended_) return self->drain_local();
    }
    if (ec) return self->fail(ec, reads);
    self->arm_write_deadline(deadline, writes);
    asio::async_write(
        to, asio::buffer(buffer.data(), n),
        [self, &from, &to, &buffer, &deadline, reads, writes](const error_code& ec, std::size_t) {
          deadline.cancel();
          if (ec) return self->fail(ec, writes);
          self->relay(from, to, buffer, deadline, reads, writes);
        });
  });
}

void TlsBridgeSession::arm_write_deadline(asio::steady_timer& timer, const char* what) {
  timer.expires_after(target_.write_timeout);
  timer.async_wait([self = shared_from_this(), what](const error_code& ec) {
    if (!ec) self->fail(asio::error::timed_out, what);
  });
}

void TlsBridgeSession::fail(const error_code& ec, const char* what) {
  if (ended_) return;
  ended_ = true;
  std::string where = target_.host + ":" + target_.port;
  std::string why;
  bool hiredis_side = std::string_view(what).find("hiredis") != std::string_view::npos;
  if (ec == asio::error::timed_out) {
    why = std::string(what) + " with " + where + ": no answer in time";
  } else if (relaying_ && !hiredis_side &&
             (ec == asio::error::eof || ec == ssl::error::stream_truncated)) {
    why = "redis at " + where + " closed the TLS connection";
  } else {
    why = std::string(what) + " with " + where + ": " + ec.message();
    long verify = SSL_get_verify_result(tls_.native_handle());
    if (ec.category() == asio::error::get_ssl_category() && verify != X509_V_OK) {
      why += std::string(": ") + X509_verify_cert_error_string(verify) +
             " (the server's certificate is checked against " + target_.ca + " and the name " +
             target_.host + ")";
    }
  }
  // hiredis going away ends a session normally; anything else is the
  // reason hiredis' next "connection lost" really had.
  if (!hiredis_side) report_->failed(why);
  error_code ignored;
  up_deadline_.cancel();
  down_deadline_.cancel();
  resolver_.cancel();
  tls_.lowest_layer().close(ignored);
  local_.shutdown(asio::socket_base::shutdown_send, ignored);
  deadline_.expires_after(kDrainLimit);
  deadline_.async_wait([self = shared_from_this()](const error_code& ec) {
    error_code ignored;
    if (!ec) self->local_.close(ignored);
  });
  // A read still under way drains from its handler on.
  if (!reading_local_) drain_local();
}

void TlsBridgeSession::drain_local() {
  if (!local_.is_open()) return;
  reading_local_ = true;
  local_.async_read_some(asio::buffer(up_),
                         [self = shared_from_this()](const error_code& ec, std::size_t) {
                           self->reading_local_ = false;
                           if (!ec) return self->drain_local();
                           error_code ignored;
                           self->deadline_.cancel();
                           self->local_.close(ignored);
                         });
}

}  // namespace hookd
