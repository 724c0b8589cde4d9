#include "hookd/delivery/endpoint_sender.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "hookd/core/event.h"

namespace hookd {

using Clock = std::chrono::steady_clock;

Result<std::shared_ptr<EndpointSender>> EndpointSender::create(boost::asio::io_context& io,
                                                               const EndpointSpec& spec,
                                                               std::string_view user_agent,
                                                               std::string_view host) {
  HttpsClientOptions co;
  co.url = redact_url(spec.url);  // credentials travel as an Authorization header
  co.ca_file = spec.ca;
  co.cert_file = spec.cert;
  co.key_file = spec.key;
  co.timeout = spec.timeout;
  co.connections = spec.connections;
  co.metrics_label = spec.name;
  auto client = HttpsClient::create(io, co);
  if (!client) return client.error();
  return std::make_shared<EndpointSender>(io, spec, std::move(client.value()), user_agent, host);
}

EndpointSender::EndpointSender(boost::asio::io_context& io, const EndpointSpec& spec,
                               std::shared_ptr<HttpsClient> client, std::string_view user_agent,
                               std::string_view host)
    : io_(io),
      format_(spec.format),
      connections_(spec.connections),
      requests_(spec, user_agent, host),
      client_(std::move(client)) {}

void EndpointSender::send(BatchPtr batch, Done done) {
  const std::int64_t started_ms = now_unix_ms();
  OutgoingRequest req;
  if (format_ == EndpointFormat::webhook) {
    req = requests_.webhook(batch->events.front().event, started_ms / 1000);
  } else {
    if (!batch->body_built) {
      std::string body;
      for (const auto& e : batch->events)
        requests_.append_to_batch(body, e.event);
      batch->body = requests_.encode_batch(std::move(body));
      batch->body_built = true;
    }
    req = requests_.batch_request(batch->body);
  }
  ++in_flight_requests_;
  in_flight_events_ += batch->events.size();
  const Clock::time_point t0 = Clock::now();
  std::weak_ptr<EndpointSender> weak = weak_from_this();
  sending_ = true;
  client_->send(std::move(req),
                [weak, batch, started_ms, t0, done = std::move(done)](Result<IncomingResponse> r) {
                  auto self = weak.lock();
                  if (!self) return;
                  if (self->sending_) {
                    // Completed inline: answer once the caller's loop has unwound.
                    auto shared = std::make_shared<Result<IncomingResponse>>(std::move(r));
                    boost::asio::post(self->io_, [weak, batch, started_ms, t0, shared, done] {
                      if (auto s = weak.lock())
                        s->answered(batch, std::move(*shared), started_ms, t0, done);
                    });
                    return;
                  }
                  self->answered(batch, std::move(r), started_ms, t0, done);
                });
  sending_ = false;
}

void EndpointSender::answered(const BatchPtr& batch, Result<IncomingResponse> response,
                              std::int64_t started_ms, Clock::time_point t0, const Done& done) {
  --in_flight_requests_;
  in_flight_events_ -= batch->events.size();
  const std::int64_t duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  done(batch, Answer{std::move(response), started_ms, duration_ms});
}

void EndpointSender::close() {
  client_->close();
}

}  // namespace hookd
