#include "hookd/delivery/https_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <vector>

#include "hookd/core/log.h"
#include "hookd/delivery/https_tls.h"

namespace hookd {

HttpsPoolContext::HttpsPoolContext() = default;
HttpsPoolContext::~HttpsPoolContext() = default;

void HttpsPoolContext::count_error(std::string_view category) const {
  metrics()
      .counter("hookd_https_client_errors_total",
               "Requests that ended without an HTTP response, by error category",
               {{"endpoint", endpoint}, {"category", std::string(category)}})
      .inc();
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

// The caller only logs the body, so more than this is read and dropped.
constexpr std::size_t kKeptBodyBytes = 64 * 1024;
// Draining keeps the connection alive; beyond this it is cheaper to close it.
constexpr std::size_t kDrainBodyBytes = 1024 * 1024;
constexpr std::size_t kHeaderBytes = 64 * 1024;

class Connection final : public HttpsConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpsStrand strand, std::shared_ptr<const HttpsPoolContext> shared)
      : strand_(strand), shared_(std::move(shared)), resolver_(strand), resolve_timer_(strand) {}
  ~Connection() override { close(); }

  void run(HttpsJob job, Finish finish) override {
    job_ = std::move(job);
    finish_ = std::move(finish);
    retried_ = false;
    deadline_ = Clock::now() + shared_->options.timeout;
    shared_->requests->inc();
    if (opened_ && Clock::now() - last_used_ < shared_->options.idle_timeout) {
      reused_ = true;
      write();
    } else {
      close();
      reused_ = false;
      resolve();
    }
  }

 private:
  enum class Stage { resolve, connect, handshake, write, read };

  beast::tcp_stream& transport() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void resolve() {
    stage_ = Stage::resolve;
    const Origin& origin = shared_->origin;
    if (origin.host_is_ip) {
      ErrorCode ec;
      auto address = asio::ip::make_address(origin.host, ec);
      if (ec) return fail(ec, "connect");
      endpoints_.assign(1, tcp::endpoint(address, origin.port));
      return connect();
    }
    // The resolver is outside the stream's timeout, so it gets its own timer.
    const auto generation = ++resolve_generation_;
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait([self = shared_from_this(), generation](ErrorCode ec) {
      if (!ec && generation == self->resolve_generation_) self->resolver_.cancel();
    });
    resolver_.async_resolve(origin.host, std::to_string(origin.port),
                            beast::bind_front_handler(&Connection::on_resolve, shared_from_this()));
  }

  void on_resolve(ErrorCode ec, const tcp::resolver::results_type& results) {
    ++resolve_generation_;
    resolve_timer_.cancel();
    if (ec) return fail(ec, "connect");
    endpoints_.clear();
    for (const auto& entry : results)
      endpoints_.push_back(entry.endpoint());
    connect();
  }

  void connect() {
    stage_ = Stage::connect;
    if (shared_->tls) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(strand_, *shared_->tls);
    } else {
      plain_ = std::make_unique<beast::tcp_stream>(strand_);
    }
    transport().expires_at(deadline_);
    transport().async_connect(
        endpoints_, beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
  }

  void on_connect(ErrorCode ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "connect");
    ErrorCode ignored;
    transport().socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return opened();
    stage_ = Stage::handshake;
    if (!expect_peer(tls_->native_handle(), shared_->origin)) {
      return fail_with("tls", "cannot set the expected host name " + shared_->origin.host);
    }
    handshake_started_ = Clock::now();
    tls_->async_handshake(ssl::stream_base::client,
                          beast::bind_front_handler(&Connection::on_handshake, shared_from_this()));
  }

  void on_handshake(ErrorCode ec) {
    if (ec) {
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK && !timed_out(ec)) {
        return fail_with("tls", "certificate verify failed for " + shared_->origin.authority +
                                    ": " + X509_verify_cert_error_string(verify));
      }
      return fail(ec, "tls");
    }
    shared_->handshake_seconds->observe(
        std::chrono::duration<double>(Clock::now() - handshake_started_).count());
    opened();
  }

  void opened() {
    opened_ = true;
    shared_->connects->inc();
    shared_->open_connections->add(1);
    log::debug("https client connected", {{"endpoint", shared_->endpoint},
                                          {"origin", shared_->origin.authority},
                                          {"retry", retried_}});
    write();
  }

  void write() {
    stage_ = Stage::write;
    transport().expires_at(deadline_);
    auto handler = beast::bind_front_handler(&Connection::on_write, shared_from_this());
    if (tls_) {
      http::async_write(*tls_, job_.request, std::move(handler));
    } else {
      http::async_write(*plain_, job_.request, std::move(handler));
    }
  }

  void on_write(ErrorCode ec, std::size_t) {
    if (ec) {
      if (retry_stale(ec)) return;
      return fail(ec, "io");
    }
    start_read();
  }

  void start_read() {
    stage_ = Stage::read;
    parser_.emplace();
    parser_->header_limit(kHeaderBytes);
    parser_->body_limit(kDrainBodyBytes);
    if (job_.head) parser_->skip(true);
    body_.clear();
    read();
  }

  void read() {
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = chunk_.size();
    auto handler = beast::bind_front_handler(&Connection::on_read, shared_from_this());
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, std::move(handler));
    } else {
      http::async_read(*plain_, buffer_, *parser_, std::move(handler));
    }
  }

  void on_read(ErrorCode ec, std::size_t) {
    const std::size_t got = chunk_.size() - parser_->get().body().size;
    if (body_.size() < kKeptBodyBytes) {
      body_.append(chunk_.data(), std::min(got, kKeptBodyBytes - body_.size()));
    }
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit && parser_->is_header_done()) {
      shared_->truncated->inc();
      return succeed(false);
    }
    if (ec) {
      if (retry_stale(ec)) return;
      return fail(ec, "io");
    }
    if (!parser_->is_done()) return read();
    const unsigned status = parser_->get().result_int();
    if (status >= 100 && status < 200 && status != 101) return start_read();  // interim
    succeed(parser_->keep_alive());
  }

  // A reused connection the server has meanwhile closed fails at once on
  // write or with nothing read; the request never reached the application,
  // so it is sent again, once, on a fresh connection.
  bool retry_stale(const ErrorCode& ec) {
    if (!reused_ || retried_ || timed_out(ec)) return false;
    if (stage_ == Stage::read && (parser_->got_some() || buffer_.size() > 0)) return false;
    retried_ = true;
    reused_ = false;
    shared_->stale_retries->inc();
    close();
    resolve();
    return true;
  }

  void succeed(bool reusable) {
    IncomingResponse response = decode_response(parser_->get(), std::move(body_));
    body_.clear();
    complete(std::move(response), reusable);
  }

  bool timed_out(const ErrorCode& ec) const {
    return ec == beast::error::timeout || Clock::now() >= deadline_;
  }

  void fail(const ErrorCode& ec, std::string_view category) {
    static constexpr const char* kStages[] = {"resolve", "connect", "tls handshake", "write",
                                              "read"};
    const std::string stage = kStages[static_cast<int>(stage_)];
    if (timed_out(ec)) {
      return fail_with("timeout", stage + " " + shared_->origin.authority + " after " +
                                      std::to_string(shared_->options.timeout.count()) + " ms");
    }
    // Alerts after the handshake (a client certificate the server refuses,
    // under TLS 1.3) surface on the first read.
    if (ec.category() == asio::error::get_ssl_category()) category = "tls";
    fail_with(category, stage + " " + shared_->origin.authority + ": " + ec.message());
  }

  void fail_with(std::string_view category, const std::string& detail) {
    shared_->count_error(category);
    std::string message = std::string(category) + ": " + detail;
    log::debug("https client error", {{"endpoint", shared_->endpoint}, {"error", message}});
    complete(Error{std::move(message)}, false);
  }

  void complete(Result<IncomingResponse> result, bool reusable) {
    if (reusable) {
      transport().expires_never();
      last_used_ = Clock::now();
    } else {
      close();
    }
    parser_.reset();
    auto done = std::move(job_.done);
    Finish finish = std::move(finish_);
    job_ = HttpsJob{};
    finish_ = nullptr;
    // The pool may hand this connection the next job right away.
    finish(shared_from_this(), reusable);
    done(std::move(result));
  }

  void close() {
    if (opened_) {
      opened_ = false;
      shared_->open_connections->add(-1);
    }
    if (tls_) beast::get_lowest_layer(*tls_).close();
    if (plain_) plain_->close();
    tls_.reset();
    plain_.reset();
    buffer_.clear();
  }

  HttpsStrand strand_;
  std::shared_ptr<const HttpsPoolContext> shared_;
  tcp::resolver resolver_;
  asio::steady_timer resolve_timer_;
  std::uint64_t resolve_generation_ = 0;
  std::vector<tcp::endpoint> endpoints_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::unique_ptr<beast::tcp_stream> plain_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::array<char, 16 * 1024> chunk_{};
  std::string body_;
  HttpsJob job_;
  Finish finish_;
  Stage stage_ = Stage::resolve;
  Clock::time_point deadline_;
  Clock::time_point last_used_;
  Clock::time_point handshake_started_;
  bool opened_ = false;
  bool reused_ = false;
  bool retried_ = false;
};

}  // namespace

std::shared_ptr<HttpsConnection> HttpsConnection::create(
    HttpsStrand strand, std::shared_ptr<const HttpsPoolContext> pool) {
  return std::make_shared<Connection>(strand, std::move(pool));
}

}  // namespace hookd
