// EndpointSender: sends one endpoint's batches over its Transport (HTTP
// requests on a keep-alive pool, appends to a local file, or syslog messages
// on one TCP/TLS connection), at most as many at once as the transport
// takes, and reports each attempt's outcome and timing. Runs on the
// io_context.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "hookd/core/result.h"
#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/retry_policy.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class BlockingIoThread;

// Transport: the seam between the endpoint's delivery loop (cursor, window,
// retries, dead letters: the same for every format) and how a batch leaves
// hookd. Implementations: HTTP (webhook, splunk-hec, ndjson), file, syslog.
// Runs on the io_context.
class Transport {
 public:
  // Runs on the io_context, exactly once per send(), possibly inside it.
  using Done = std::function<void(AttemptOutcome outcome)>;
  virtual ~Transport() = default;

  // Batches it takes at once.
  virtual std::size_t capacity() const = 0;
  // A success outcome means the batch is delivered as far as the transport
  // can tell (HTTP 2xx; file: written and fdatasync'd; syslog: acknowledged
  // by the receiver's TCP and the connection stayed up for `settle`).
  virtual void send(const BatchPtr& batch, Done done) = 0;
  // Shutdown: what is pending fails, connections and files close.
  virtual void close() = 0;
  // SIGHUP: files are opened again by name (after logrotate moved them).
  virtual void reopen() {}
};

// What the transports need besides the spec.
struct TransportContext {
  boost::asio::io_context* io = nullptr;
  std::shared_ptr<BlockingIoThread> files;  // file transports write here, off the reactor
  std::string user_agent;
  std::string host;  // this machine's name: Splunk envelopes, syslog HOSTNAME
};

// The transport `spec.format` asks for; the error names what is wrong with
// the URL, TLS files or output file.
Result<std::unique_ptr<Transport>> make_transport(const EndpointSpec& spec,
                                                  const TransportContext& context);

class EndpointSender : public std::enable_shared_from_this<EndpointSender> {
 public:
  struct Answer {
    AttemptOutcome outcome;
    std::int64_t started_ms = 0;  // unix ms when the attempt began
    std::int64_t duration_ms = 0;
  };
  // Runs on the io_context, never inside send().
  using Done = std::function<void(const BatchPtr& batch, Answer answer)>;

  static Result<std::shared_ptr<EndpointSender>> create(const EndpointSpec& spec,
                                                        const TransportContext& context);

  EndpointSender(boost::asio::io_context& io, std::unique_ptr<Transport> transport);

  bool has_room() const { return in_flight_requests_ < transport_->capacity(); }
  void send(BatchPtr batch, Done done);
  // Fails what is queued and closes connections and files (shutdown).
  void close();
  void reopen() { transport_->reopen(); }

  std::size_t in_flight_events() const { return in_flight_events_; }

 private:
  void answered(const BatchPtr& batch, AttemptOutcome outcome, std::int64_t started_ms,
                std::chrono::steady_clock::time_point t0, const Done& done);

  boost::asio::io_context& io_;
  std::unique_ptr<Transport> transport_;
  std::size_t in_flight_requests_ = 0;
  std::size_t in_flight_events_ = 0;
  bool sending_ = false;
};

}  // namespace hookd
