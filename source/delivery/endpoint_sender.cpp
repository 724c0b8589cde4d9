#include "hookd/delivery/endpoint_sender.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "hookd/core/event.h"
#include "hookd/delivery/file_transport.h"
#include "hookd/delivery/formats.h"
#include "hookd/delivery/https_client.h"
#include "hookd/delivery/syslog_transport.h"

namespace hookd {

using Clock = std::chrono::steady_clock;

namespace {

// Webhook: one signed POST per event; splunk-hec and ndjson: one POST per
// batch, its body built once so every retry sends the same bytes.
class HttpTransport final : public Transport {
 public:
  HttpTransport(const EndpointSpec& spec, std::shared_ptr<HttpsClient> client,
                const TransportContext& context)
      : format_(spec.format),
        connections_(spec.connections),
        requests_(spec, context.user_agent, context.host),
        client_(std::move(client)) {}

  std::size_t capacity() const override { return connections_; }

  void send(const BatchPtr& batch, Done done) override {
    OutgoingRequest req;
    if (format_ == EndpointFormat::webhook) {
      req = requests_.webhook(batch->events.front().event, now_unix_ms() / 1000);
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
    client_->send(std::move(req),
                  [done = std::move(done)](Result<IncomingResponse> r) { done(outcome_of(r)); });
  }

  void close() override { client_->close(); }

 private:
  const EndpointFormat format_;
  const std::size_t connections_;
  const RequestBuilder requests_;
  std::shared_ptr<HttpsClient> client_;
};

}  // namespace

Result<std::unique_ptr<Transport>> make_transport(const EndpointSpec& spec,
                                                  const TransportContext& context) {
  if (spec.format == EndpointFormat::file) return make_file_transport(spec, context);
  if (spec.format == EndpointFormat::syslog) return make_syslog_transport(spec, context);
  HttpsClientOptions co;
  co.url = redact_url(spec.url);  // credentials travel as an Authorization header
  co.ca_file = spec.ca;
  co.cert_file = spec.cert;
  co.key_file = spec.key;
  co.timeout = spec.timeout;
  co.connections = spec.connections;
  co.metrics_label = spec.name;
  auto client = HttpsClient::create(*context.io, co);
  if (!client) return client.error();
  return std::unique_ptr<Transport>(
      std::make_unique<HttpTransport>(spec, std::move(client.value()), context));
}

Result<std::shared_ptr<EndpointSender>> EndpointSender::create(const EndpointSpec& spec,
                                                               const TransportContext& context) {
  auto transport = make_transport(spec, context);
  if (!transport) return transport.error();
  return std::make_shared<EndpointSender>(*context.io, std::move(transport.value()));
}

EndpointSender::EndpointSender(boost::asio::io_context& io, std::unique_ptr<Transport> transport)
    : io_(io), transport_(std::move(transport)) {}

void EndpointSender::send(BatchPtr batch, Done done) {
  const std::int64_t started_ms = now_unix_ms();
  ++in_flight_requests_;
  in_flight_events_ += batch->events.size();
  const Clock::time_point t0 = Clock::now();
  std::weak_ptr<EndpointSender> weak = weak_from_this();
  sending_ = true;
  transport_->send(batch,
                   [weak, batch, started_ms, t0, done = std::move(done)](AttemptOutcome outcome) {
                     auto self = weak.lock();
                     if (!self) return;
                     if (self->sending_) {
                       // Completed inline: answer once the caller's loop has unwound.
                       boost::asio::post(self->io_, [weak, batch, started_ms, t0, outcome, done] {
                         if (auto s = weak.lock())
                           s->answered(batch, outcome, started_ms, t0, done);
                       });
                       return;
                     }
                     self->answered(batch, std::move(outcome), started_ms, t0, done);
                   });
  sending_ = false;
}

void EndpointSender::answered(const BatchPtr& batch, AttemptOutcome outcome,
                              std::int64_t started_ms, Clock::time_point t0, const Done& done) {
  --in_flight_requests_;
  in_flight_events_ -= batch->events.size();
  const std::int64_t duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  done(batch, Answer{std::move(outcome), started_ms, duration_ms});
}

void EndpointSender::close() {
  transport_->close();
}

}  // namespace hookd
