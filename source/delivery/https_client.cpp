// HttpsClient: a pool object (queue + idle connections) and one Connection
// class per keep-alive connection, in the style of the Beast client examples.
// Everything runs on one strand, so send() and close() may be called from
// any thread.
#include "hookd/delivery/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <deque>
#include <optional>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"

namespace hookd {

std::string IncomingResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (boost::beast::iequals(key, name)) return value;
  }
  return {};
}

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Strand = asio::strand<asio::io_context::executor_type>;
using ErrorCode = boost::system::error_code;
using Done = std::function<void(Result<IncomingResponse>)>;

// The caller only logs the body, so more than this is read and dropped.
constexpr std::size_t kKeptBodyBytes = 64 * 1024;
// Draining keeps the connection alive; beyond this it is cheaper to close it.
constexpr std::size_t kDrainBodyBytes = 1024 * 1024;
constexpr std::size_t kHeaderBytes = 64 * 1024;

struct Origin {
  bool tls = false;
  std::string host;  // IPv6 literals without brackets
  bool host_is_ip = false;
  std::uint16_t port = 0;
  std::string target;       // path + query, at least "/"
  std::string host_header;  // host[:port], IPv6 in brackets
  std::string authority;    // host:port, for messages and metrics
};

Result<Origin> parse_origin(std::string_view text) {
  auto parsed = boost::urls::parse_absolute_uri(text);
  if (!parsed) return Error{"url: cannot parse '" + std::string(text) + "'"};
  const boost::urls::url_view& url = *parsed;
  Origin origin;
  if (url.scheme_id() == boost::urls::scheme::https) {
    origin.tls = true;
  } else if (url.scheme_id() != boost::urls::scheme::http) {
    return Error{"url: scheme must be http or https"};
  }
  if (url.has_userinfo()) return Error{"url: user info is not supported"};
  switch (url.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      origin.host_is_ip = true;
      break;
    case boost::urls::host_type::name:
      break;
    default:
      return Error{"url: missing or unsupported host"};
  }
  origin.host = url.host_address();
  if (origin.host.empty()) return Error{"url: missing host"};
  for (char c : origin.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\x7f') {
      return Error{"url: invalid host"};
    }
  }
  origin.port = origin.tls ? 443 : 80;
  if (url.has_port() && !url.port().empty()) {
    std::string port(url.port().data(), url.port().size());
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Error{"url: invalid port '" + port + "'"};
    }
    origin.port = static_cast<std::uint16_t>(value);
  }
  std::string target(url.encoded_target().data(), url.encoded_target().size());
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  origin.target = std::move(target);
  const bool ipv6 = url.host_type() == boost::urls::host_type::ipv6;
  const std::string bracketed = ipv6 ? "[" + origin.host + "]" : origin.host;
  const std::string port_text = std::to_string(origin.port);
  const bool default_port = origin.port == (origin.tls ? 443 : 80);
  origin.host_header = default_port ? bracketed : bracketed + ":" + port_text;
  origin.authority = bracketed + ":" + port_text;
  return origin;
}

Result<std::unique_ptr<ssl::context>> make_tls_context(const HttpsClientOptions& options) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return Error{"tls: cannot require TLS 1.2"};
  }
  context->set_verify_mode(ssl::verify_peer);
  ErrorCode ec;
  if (options.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return Error{"ca: cannot load the system CA certificates: " + ec.message()};
  } else {
    context->load_verify_file(options.ca_file, ec);
    if (ec) return Error{"ca: cannot load " + options.ca_file + ": " + ec.message()};
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Error{options.cert_file.empty() ? "cert: required with key" : "key: required with cert"};
  }
  if (!options.cert_file.empty()) {
    context->use_certificate_chain_file(options.cert_file, ec);
    if (ec) return Error{"cert: cannot load " + options.cert_file + ": " + ec.message()};
    context->use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return Error{"key: cannot load " + options.key_file + ": " + ec.message()};
    if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
      return Error{"key: " + options.key_file + " does not match " + options.cert_file};
    }
  }
  return context;
}

// What every connection of one client shares; immutable after create().
struct Shared {
  HttpsClientOptions options;
  Origin origin;
  std::unique_ptr<ssl::context> tls;  // null for http://
  std::string endpoint;               // metrics label
  Counter* connects = nullptr;
  Counter* stale_retries = nullptr;
  Counter* truncated = nullptr;
  Counter* requests = nullptr;
  Histogram* handshake_seconds = nullptr;
  Gauge* open_connections = nullptr;
  Gauge* queued = nullptr;

  void count_error(std::string_view category) const {
    metrics()
        .counter("hookd_https_client_errors_total",
                 "Requests that ended without an HTTP response, by error category",
                 {{"endpoint", endpoint}, {"category", std::string(category)}})
        .inc();
  }
};

struct Job {
  http::request<http::string_body> request;
  bool head = false;
  Done done;
};

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_field_value(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < ' ' && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One keep-alive connection: resolve, connect, TLS handshake, then any number
// of sequential write/read exchanges, each bounded as a whole by the timeout.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Runs when an exchange ends, before the job's own callback.
  using Finish = std::function<void(std::shared_ptr<Connection>, bool reusable)>;

  Connection(Strand strand, std::shared_ptr<const Shared> shared)
      : strand_(strand), shared_(std::move(shared)), resolver_(strand), resolve_timer_(strand) {}
  ~Connection() { close(); }

  void run(Job job, Finish finish) {
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
    const Origin& origin = shared_->origin;
    SSL* ssl = tls_->native_handle();
    bool configured = true;
    if (origin.host_is_ip) {
      // SNI must not carry an IP literal; the certificate must name the IP.
      configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin.host.c_str()) == 1;
    } else {
      configured = SSL_set_tlsext_host_name(ssl, origin.host.c_str()) == 1 &&
                   SSL_set1_host(ssl, origin.host.c_str()) == 1;
    }
    if (!configured) return fail_with("tls", "cannot set the expected host name " + origin.host);
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
    const auto& message = parser_->get();
    IncomingResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(body_);
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
    Done done = std::move(job_.done);
    Finish finish = std::move(finish_);
    job_ = Job{};
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

  Strand strand_;
  std::shared_ptr<const Shared> shared_;
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
  Job job_;
  Finish finish_;
  Stage stage_ = Stage::resolve;
  Clock::time_point deadline_;
  Clock::time_point last_used_;
  Clock::time_point handshake_started_;
  bool opened_ = false;
  bool reused_ = false;
  bool retried_ = false;
};

// The pool: a FIFO of waiting jobs, idle connections (most recently used
// first, as those are the likeliest to still be open), and a bound on how
// many connections exist at once.
class Client final : public HttpsClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, std::shared_ptr<Shared> shared)
      : strand_(asio::make_strand(io)), shared_(std::move(shared)) {}

  ~Client() override { shared_->queued->add(-static_cast<double>(queue_.size())); }

  void send(OutgoingRequest request, Done done) override {
    auto job = make_job(std::move(request));
    if (!job) {
      asio::post(strand_, [done = std::move(done), error = job.error()]() { done(error); });
      return;
    }
    job->done = std::move(done);
    asio::post(strand_, [self = shared_from_this(), job = std::move(job.value())]() mutable {
      self->enqueue(std::move(job));
    });
  }

  void close() override {
    asio::post(strand_, [self = shared_from_this()]() {
      self->closed_ = true;
      self->connections_ -= self->idle_.size();
      self->idle_.clear();
      std::deque<Job> queue = std::move(self->queue_);
      self->queue_.clear();
      self->shared_->queued->add(-static_cast<double>(queue.size()));
      for (auto& job : queue)
        job.done(Error{"closed: the client was closed"});
    });
  }

 private:
  Result<Job> make_job(OutgoingRequest request) const {
    Job job;
    auto& message = job.request;
    const http::verb verb = http::string_to_verb(request.method);
    if (verb != http::verb::unknown) {
      message.method(verb);
    } else if (is_token(request.method)) {
      message.method_string(request.method);
    } else {
      return Error{"request: invalid method '" + request.method + "'"};
    }
    job.head = verb == http::verb::head;
    std::string target = request.target.empty() ? shared_->origin.target : request.target;
    if (target.front() != '/' || !is_field_value(target) || target.find(' ') != std::string::npos) {
      return Error{"request: invalid target '" + target + "'"};
    }
    message.target(target);
    message.version(11);
    message.set(http::field::host, shared_->origin.host_header);
    if (!shared_->options.user_agent.empty()) {
      message.set(http::field::user_agent, shared_->options.user_agent);
    }
    for (auto& [name, value] : request.headers) {
      if (!is_token(name) || !is_field_value(value)) {
        return Error{"request: invalid header '" + name + "'"};
      }
      // Framing belongs to the client.
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding")) {
        continue;
      }
      if (beast::iequals(name, "host") || beast::iequals(name, "user-agent")) {
        message.set(name, value);
      } else {
        message.insert(name, value);
      }
    }
    message.body() = std::move(request.body);
    message.prepare_payload();
    return job;
  }

  void enqueue(Job job) {
    if (closed_) return job.done(Error{"closed: the client was closed"});
    queue_.push_back(std::move(job));
    shared_->queued->add(1);
    dispatch();
  }

  void dispatch() {
    while (!queue_.empty()) {
      std::shared_ptr<Connection> connection;
      if (!idle_.empty()) {
        connection = std::move(idle_.back());
        idle_.pop_back();
      } else if (connections_ < shared_->options.connections) {
        connection = std::make_shared<Connection>(strand_, shared_);
        ++connections_;
      } else {
        return;
      }
      Job job = std::move(queue_.front());
      queue_.pop_front();
      shared_->queued->add(-1);
      connection->run(std::move(job),
                      [self = shared_from_this()](std::shared_ptr<Connection> c, bool reusable) {
                        self->release(std::move(c), reusable);
                      });
    }
  }

  void release(std::shared_ptr<Connection> connection, bool reusable) {
    if (reusable && !closed_) {
      idle_.push_back(std::move(connection));
    } else {
      --connections_;
    }
    dispatch();
  }

  Strand strand_;
  std::shared_ptr<Shared> shared_;
  std::deque<Job> queue_;
  std::vector<std::shared_ptr<Connection>> idle_;
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
  auto shared = std::make_shared<Shared>();
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
