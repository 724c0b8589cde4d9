// SyslogConnection: one TCP or TLS connection of a syslog endpoint, in the
// style of the Beast client examples: resolve, connect, TLS handshake (the
// certificate and host name verified), then the endpoint's batches of framed
// messages written in order. Syslog has no application acknowledgement, so
// a batch is confirmed once the receiver's TCP has acknowledged its last
// byte and the connection then stayed up for `settle`; a read kept pending
// for the connection's life notices the receiver closing or resetting it,
// and every batch not yet confirmed then fails (to be retried on a new
// connection). A failed connection stays failed. Runs on the io_context.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hookd/delivery/endpoint_sender.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace hookd {

// What every connection of one endpoint shares; immutable.
struct SyslogPeer {
  std::string endpoint;  // its name, for logs
  std::string host;      // IPv6 literals without brackets
  std::uint16_t port = 0;
  bool host_is_ip = false;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain TCP
  // Bounds connecting (resolve, connect, handshake) and, for each batch,
  // the time from its write to the receiver's TCP acknowledging it.
  std::chrono::milliseconds timeout{15000};
  std::chrono::milliseconds settle{1000};
};

class SyslogConnection {
 public:
  static std::shared_ptr<SyslogConnection> create(boost::asio::io_context& io,
                                                  std::shared_ptr<const SyslogPeer> peer);
  virtual ~SyslogConnection() = default;

  // Queues `frames` (whole messages, framed) and connects on first use.
  // `done` gets success once the batch is confirmed, or the error that
  // ended the connection; on a failed connection, at once.
  virtual void send(std::string frames, Transport::Done done) = 0;
  virtual bool failed() const = 0;
  // Fails what is pending and closes the socket (shutdown).
  virtual void close() = 0;
};

}  // namespace hookd
