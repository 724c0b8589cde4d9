#include "hookd/delivery/syslog_transport.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <limits>

#include "hookd/delivery/cef_format.h"
#include "hookd/delivery/https_tls.h"
#include "hookd/delivery/syslog_connection.h"
#include "hookd/delivery/syslog_message.h"

namespace hookd {

namespace {

class SyslogTransport final : public Transport {
 public:
  SyslogTransport(const EndpointSpec& spec, const TransportContext& context,
                  std::shared_ptr<const SyslogPeer> peer)
      : io_(*context.io), peer_(std::move(peer)), body_(spec.syslog_body) {
    header_.facility = spec.facility;
    header_.hostname = context.host;
    header_.app_name = spec.app_name;
    header_.procid = std::to_string(::getpid());
  }

  ~SyslogTransport() override { close(); }

  // One connection carries every batch, in order: the delivery window
  // bounds how many are written and not yet confirmed.
  std::size_t capacity() const override { return std::numeric_limits<std::size_t>::max(); }

  void send(const BatchPtr& batch, Done done) override {
    if (!batch->body_built) {
      std::string frames;
      for (const auto& e : batch->events)
        frames += octet_frame(message(e.event));
      batch->body = std::move(frames);
      batch->body_built = true;
    }
    if (!connection_ || connection_->failed()) connection_ = SyslogConnection::create(io_, peer_);
    connection_->send(batch->body, std::move(done));
  }

  void close() override {
    if (connection_) connection_->close();
  }

 private:
  std::string message(const RenderedEvent& event) const {
    const std::string body = body_ == SyslogBody::cef
                                 ? cef_message(event.json, event.time_ms, HOOKD_VERSION)
                                 : event.json;
    return rfc5424_message(header_, kSyslogSeverityInformational, event.time_ms, event.type,
                           hookd_structured_data(event.id, event.type), body);
  }

  boost::asio::io_context& io_;
  const std::shared_ptr<const SyslogPeer> peer_;
  const SyslogBody body_;
  SyslogHeader header_;
  std::shared_ptr<SyslogConnection> connection_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_syslog_transport(const EndpointSpec& spec,
                                                         const TransportContext& context) {
  auto peer = std::make_shared<SyslogPeer>();
  peer->endpoint = spec.name;
  peer->host = spec.host;
  peer->port = spec.port;
  boost::system::error_code ec;
  boost::asio::ip::make_address(spec.host, ec);
  peer->host_is_ip = !ec;
  peer->timeout = spec.timeout;
  peer->settle = spec.settle;
  if (spec.tls) {
    HttpsClientOptions files;
    files.ca_file = spec.ca;
    files.cert_file = spec.cert;
    files.key_file = spec.key;
    auto tls = make_tls_context(files);
    if (!tls) return tls.error();
    peer->tls = std::shared_ptr<boost::asio::ssl::context>(std::move(tls.value()));
  }
  return std::unique_ptr<Transport>(std::make_unique<SyslogTransport>(spec, context, peer));
}

}  // namespace hookd
