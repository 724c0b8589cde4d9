// EndpointSender: sends one endpoint's batches, in its format, over its own
// keep-alive connection pool (at most spec.connections requests at once),
// and reports each attempt's answer and timing. Runs on the io_context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "hookd/core/result.h"
#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/formats.h"
#include "hookd/delivery/https_client.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class EndpointSender : public std::enable_shared_from_this<EndpointSender> {
 public:
  struct Answer {
    Result<IncomingResponse> response;
    std::int64_t started_ms = 0;  // unix ms when the attempt began
    std::int64_t duration_ms = 0;
  };
  // Runs on the io_context, never inside send().
  using Done = std::function<void(const BatchPtr& batch, Answer answer)>;

  // Creates the pool; the error names what is wrong with the URL or TLS files.
  static Result<std::shared_ptr<EndpointSender>> create(boost::asio::io_context& io,
                                                        const EndpointSpec& spec,
                                                        std::string_view user_agent,
                                                        std::string_view host);

  EndpointSender(boost::asio::io_context& io, const EndpointSpec& spec,
                 std::shared_ptr<HttpsClient> client, std::string_view user_agent,
                 std::string_view host);

  // Fewer requests in flight than the pool has connections.
  bool has_room() const { return in_flight_requests_ < connections_; }
  // Webhook: the batch's one event; batched formats: its body, built once.
  void send(BatchPtr batch, Done done);
  // Fails what is queued and closes idle connections (shutdown).
  void close();

  std::size_t in_flight_events() const { return in_flight_events_; }

 private:
  void answered(const BatchPtr& batch, Result<IncomingResponse> response, std::int64_t started_ms,
                std::chrono::steady_clock::time_point t0, const Done& done);

  boost::asio::io_context& io_;
  const EndpointFormat format_;
  const std::size_t connections_;
  const RequestBuilder requests_;
  std::shared_ptr<HttpsClient> client_;
  std::size_t in_flight_requests_ = 0;
  std::size_t in_flight_events_ = 0;
  bool sending_ = false;
};

}  // namespace hookd
