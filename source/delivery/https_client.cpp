// HttpsClient: the pool (a queue of jobs and the idle connections); each
// connection is an HttpsConnection. Everything runs on one strand, so send()
// and close() may be called from any thread.
#include "hookd/delivery/https_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <vector>

#include "hookd/core/metrics.h"
#include "hookd/delivery/https_connection.h"
#include "hookd/delivery/https_messages.h"
#include "hookd/delivery/https_tls.h"

namespace hookd {

namespace {

namespace asio = boost::asio;
using Done = std::function<void(Result<IncomingResponse>)>;

// The pool: a FIFO of waiting jobs, idle connections (most recently used
// first, as those are the likeliest to still be open), and a bound on how
// many connections exist at once.
class Client final : public HttpsClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, std::shared_ptr<HttpsPoolContext> shared)
      : strand_(asio::make_strand(io)), shared_(std::move(shared)) {}

  ~Client() override { shared_->queued->add(-static_cast<double>(queue_.size())); }

  void send(OutgoingRequest request, Done done) override {
    auto message = encode_request(std::move(request), shared_->origin, shared_->options.user_agent);
    if (!message) {
      asio::post(strand_, [done = std::move(done), error = message.error()]() { done(error); });
      return;
    }
    const bool head = message->method() == boost::beast::http::verb::head;
    HttpsJob job{std::move(message.value()), head, std::move(done)};
    asio::post(strand_, [self = shared_from_this(), job = std::move(job)]() mutable {
      self->enqueue(std::move(job));
    });
  }

  void close() override {
    asio::post(strand_, [self = shared_from_this()]() {
      self->closed_ = true;
      self->connections_ -= self->idle_.size();
      self->idle_.clear();
      std::deque<HttpsJob> queue = std::move(self->queue_);
      self->queue_.clear();
      self->shared_->queued->add(-static_cast<double>(queue.size()));
      for (auto& job : queue)
        job.done(Error{"closed: the client was closed"});
    });
  }

 private:
  void enqueue(HttpsJob job) {
    if (closed_) return job.done(Error{"closed: the client was closed"});
    queue_.push_back(std::move(job));
    shared_->queued->add(1);
    dispatch();
  }

  void dispatch() {
    while (!queue_.empty()) {
      std::shared_ptr<HttpsConnection> connection;
      if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      } else if (connections_ < shared_->options.connections) {
        connection = HttpsConnection::create(strand_, shared_);
        ++connections_;
      } else {
        return;
      }
      HttpsJob job = std::move(queue_.front());
      queue_.pop_front();
      shared_->queued->add(-1);
      connection->run(std::move(job), [self = shared_from_this()](
                                          std::shared_ptr<HttpsConnection> c, bool reusable) {
        self->release(std::move(c), reusable);
      });
    }
  }

  void release(std::shared_ptr<HttpsConnection> connection, bool reusable) {
    if (reusable && !closed_) {
      idle_.push_back(std::move(connection));
    } else {
      --connections_;
    }
    dispatch();
  }

  HttpsStrand strand_;
  std::shared_ptr<HttpsPoolContext> shared_;
  std::deque<HttpsJob> queue_;
  std::vector<std::shared_ptr<HttpsConnection>> idle_;
  std::size_t connections_ = 0;  // busy + idle
  bool closed_ = false;
};

}  // namespace

Result<std::shared_ptr<HttpsClient>> HttpsClient::create(boost::asio::io_context& io,
                                                         HttpsClientOptions options) {
  auto origin = parse_origin(options.url);
  if (!origin) return origin.error();
  if (options.connections == 0) return Error{"connections: must be at least 1"};
  if (options.timeout.count() <= 0) return Error{"timeout: must be positive"};
  auto shared = std::make_shared<HttpsPoolContext>();
  if (origin->tls) {
    auto context = make_tls_context(options);
    if (!context) return context.error();
    shared->tls = std::move(context.value());
  }
  shared->origin = std::move(origin.value());
  shared->endpoint =
      options.metrics_label.empty() ? shared->origin.authority : options.metrics_label;
  shared->options = std::move(options);
  const Labels labels{{"endpoint", shared->endpoint}};
  auto& registry = metrics();
  shared->connects = &registry.counter("hookd_https_client_connects_total",
                                       "Connections opened (TCP connect + TLS handshake)", labels);
  shared->stale_retries =
      &registry.counter("hookd_https_client_stale_retries_total",
                        "Requests resent because a reused keep-alive connection was closed by the "
                        "server",
                        labels);
  shared->truncated = &registry.counter(
      "hookd_https_client_response_body_truncated_total",
      "Responses whose body exceeded the drain limit (connection closed)", labels);
  shared->requests =
      &registry.counter("hookd_https_client_requests_total", "Requests started", labels);
  shared->handshake_seconds =
      &registry.histogram("hookd_https_client_tls_handshake_seconds", "TLS handshake duration",
                          latency_buckets_seconds(), labels);
  shared->open_connections =
      &registry.gauge("hookd_https_client_open_connections", "Connections currently open", labels);
  shared->queued = &registry.gauge("hookd_https_client_queued_requests",
                                   "Requests waiting for a free connection", labels);
  return std::shared_ptr<HttpsClient>(std::make_shared<Client>(io, std::move(shared)));
}

}  // namespace hookd
