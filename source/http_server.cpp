#include "hookd/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "hookd/log.h"
#include "hookd/metrics.h"
#include "hookd/reactor.h"

namespace hookd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------
// HttpRequest / HttpResponse

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse HttpResponse::error(int status, std::string_view message) {
  boost::json::object object;
  object["error"] = message;
  return json(status, boost::json::serialize(object));
}

// ---------------------------------------------------------------------------
// Router

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}. Empty segments are kept so that
// "/v1/events/" never matches "/v1/events/{id}".
std::vector<std::string_view> split_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      parts.push_back(path.substr(start));
      break;
    }
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

bool is_param(std::string_view segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool segments_match(const std::vector<std::string>& pattern,
                    const std::vector<std::string_view>& parts,
                    std::map<std::string, std::string>* params) {
  if (pattern.size() != parts.size()) return false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (is_param(pattern[i])) {
      if (parts[i].empty()) return false;
      if (params) (*params)[pattern[i].substr(1, pattern[i].size() - 2)] = std::string(parts[i]);
    } else if (pattern[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  for (std::string_view part : split_path(pattern))
    route.segments.emplace_back(part);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

std::string Router::match(std::string_view method, std::string_view path) const {
  auto parts = split_path(path);
  const Route* path_only = nullptr;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, parts, nullptr)) continue;
    if (route.method == method) return route.pattern;
    if (!path_only) path_only = &route;
  }
  return path_only ? path_only->pattern : std::string();
}

void Router::dispatch(HttpRequest& request, Responder respond) const {
  auto parts = split_path(request.path);
  std::string allow;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, parts, nullptr)) continue;
    if (route.method == request.method) {
      request.params.clear();
      segments_match(route.segments, parts, &request.params);
      route.handler(request, std::move(respond));
      return;
    }
    if (!allow.empty()) allow += ", ";
    allow += route.method;
  }
  if (allow.empty()) {
    respond(HttpResponse::error(404, "no such resource: " + request.path));
    return;
  }
  HttpResponse response =
      HttpResponse::error(405, "method " + request.method + " not allowed; allowed: " + allow);
  response.headers.emplace_back("Allow", allow);
  respond(std::move(response));
}

// ---------------------------------------------------------------------------
// HttpServer

namespace {

constexpr std::size_t kReadSize = 16 * 1024;
// After an error response the client may still be sending the request we
// refused; reading (and discarding) for a moment before closing keeps the
// kernel from resetting the connection before the client has read our answer.
constexpr std::chrono::milliseconds kLingerCap{2000};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on the session's reactor when the server starts draining.
  virtual void drain() = 0;
};

// Per-reactor state, touched only on that reactor's thread. Owned by the
// handlers and sessions of that reactor, so it (and its acceptor) goes away
// with them, never after its io_context.
struct Shard {
  explicit Shard(net::io_context& c) : context(c) {}
  net::io_context& context;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> retry_timer;
  std::list<std::weak_ptr<SessionBase>> sessions;
  // Metric series cached per reactor: the registry lookup takes a lock.
  std::unordered_map<std::string, Counter*> request_counters;
  std::unordered_map<std::string, Histogram*> durations;
};

struct ListenAddress {
  std::string host;
  std::string port;
};

Result<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress address;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error("listen: expected [v6-address]:port, got '" + std::string(text) + "'");
    }
    address.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error("listen: expected host:port, got '" + std::string(text) + "'");
    }
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      return make_error("listen: write IPv6 addresses as [addr]:port, got '" + std::string(text) +
                        "'");
    }
    port = text.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoul(std::string(port)) > 65535) {
    return make_error("listen: bad port in '" + std::string(text) + "'");
  }
  if (address.host.empty()) address.host = "0.0.0.0";
  address.port = std::string(port);
  return address;
}

std::string method_label(const http::request<http::string_body>& message) {
  // Unknown methods are caller-controlled text; Beast's verbs are a fixed set.
  if (message.method() == http::verb::unknown) return "other";
  return std::string(message.method_string());
}

// The server's shared state; sessions keep it alive.
struct Server : std::enable_shared_from_this<Server> {
  Server(Reactor& r, HttpServerOptions o, Router rt)
      : reactor(r),
        options(std::move(o)),
        router(std::move(rt)),
        open_gauge(metrics().gauge("hookd_http_open_connections", "Open HTTP connections")),
        rejected(metrics().counter("hookd_http_rejected_connections_total",
                                   "Connections refused beyond max_connections")),
        errors_body(error_counter("body_limit")),
        errors_header(error_counter("header_limit")),
        errors_timeout(error_counter("timeout")),
        errors_bad(error_counter("bad_request")),
        errors_tls(error_counter("tls")) {}

  static Counter& error_counter(const char* reason) {
    return metrics().counter("hookd_http_request_errors_total",
                             "Requests cut off or refused before routing, by reason",
                             {{"reason", reason}});
  }

  Status start();
  Status listen_on(Shard& shard, const tcp::endpoint& endpoint);
  void accept(std::shared_ptr<Shard> shard);
  void on_accept(std::shared_ptr<Shard> shard, beast::error_code ec, tcp::socket socket);
  void start_session(const std::shared_ptr<Shard>& shard, tcp::socket socket);
  void stop();
  void release_slot();
  void finish_drain();
  void drain(std::function<void()> done);
  void observe(Shard& shard, const std::string& route, const std::string& method, int status,
               double seconds);

  Reactor& reactor;
  HttpServerOptions options;
  Router router;
  std::unique_ptr<ssl::context> tls;
  std::vector<std::weak_ptr<Shard>> shards;
  bool started = false;
  std::atomic<unsigned short> port{0};
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::mutex drain_mutex;
  std::function<void()> drain_done;

  Gauge& open_gauge;
  Counter& rejected;
  Counter& errors_body;
  Counter& errors_header;
  Counter& errors_timeout;
  Counter& errors_bad;
  Counter& errors_tls;
};

// One HTTP/1.1 connection, plain or TLS. Lives on one reactor, so its state
// needs no locking; responders from other threads post back to it.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(std::shared_ptr<Server> server, std::shared_ptr<Shard> shard, tcp::socket socket)
      : server_(std::move(server)),
        shard_(std::move(shard)),
        stream_(make_stream(std::move(socket))) {}

  ~Session() override { account(); }

  void run() {
    registration_ = shard_->sessions.insert(shard_->sessions.end(), this->weak_from_this());
    registered_ = true;
    if constexpr (kTls) {
      state_ = State::handshake;
      lowest().expires_after(server_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::on_handshake, self()));
    } else {
      lowest().expires_after(server_->options.read_timeout);
      wait_for_request();
    }
  }

  void drain() override {
    // A connection between requests is closed now; one inside a request
    // finishes it and then closes (keep-alive is turned off in on_response).
    if (state_ == State::idle) close();
  }

 private:
  enum class State { handshake, idle, reading, handling, writing, closing, closed };

  Stream make_stream(tcp::socket socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *server_->tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> self() { return this->shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const HttpServerOptions& options() const { return server_->options; }

  void on_handshake(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) {
      server_->errors_tls.inc();
      return fail(ec, "tls handshake");
    }
    lowest().expires_after(options().read_timeout);
    wait_for_request();
  }

  // Waits for the first byte of the next request. Separate from reading the
  // request so that an idle keep-alive connection is told apart from one
  // that is in the middle of a request (idle timeout vs read timeout, drain).
  void wait_for_request() {
    if (server_->draining) return close();
    if (buffer_.size() > 0) {
      // Pipelined: the next request is already (partly) here.
      lowest().expires_after(options().read_timeout);
      return read_request();
    }
    state_ = State::idle;
    // The first request's read_timeout runs from accept (set in run() or
    // on_handshake), so a client that connects and sends nothing is cut off.
    if (!first_request_) lowest().expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadSize),
                            beast::bind_front_handler(&Session::on_first_bytes, self()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    if (ec) {
      // Idle keep-alive timeouts and clients closing between requests are
      // normal; only a first request that never arrives counts as a timeout.
      if (ec == beast::error::timeout && first_request_) server_->errors_timeout.inc();
      return close();
    }
    buffer_.commit(bytes);
    if (!first_request_) lowest().expires_after(options().read_timeout);
    read_request();
  }

  void read_request() {
    state_ = State::reading;
    parser_.emplace();
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, self()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    auto& message = parser_->get();
    if (!parser_->is_done() && iequals(message[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body.
      continue_.emplace(http::status::continue_, message.version());
      return http::async_write(stream_, *continue_,
                               beast::bind_front_handler(&Session::on_continue, self()));
    }
    read_body();
  }

  void on_continue(beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    continue_.reset();
    if (ec) return fail(ec, "write 100-continue");
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, self()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    handle();
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return close();
    }
    if (ec == beast::error::timeout) {
      server_->errors_timeout.inc();
      log::debug("http read timeout", {{"peer", peer()}});
      return close();
    }
    if (ec == http::error::body_limit) {
      server_->errors_body.inc();
      return reject(413,
                    "request body exceeds " + std::to_string(options().max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      server_->errors_header.inc();
      return reject(
          431, "request header exceeds " + std::to_string(options().max_header_bytes) + " bytes");
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
        ec == http::error::partial_message) {
      server_->errors_bad.inc();
      return reject(400, "malformed request: " + ec.message());
    }
    if constexpr (kTls) {
      if (ec.category() == net::error::get_ssl_category() || ec == ssl::error::stream_truncated) {
        server_->errors_tls.inc();
      }
    }
    fail(ec, "read");
  }

  void handle() {
    state_ = State::handling;
    ++serial_;
    lowest().expires_never();
    started_ = std::chrono::steady_clock::now();

    auto& message = parser_->get();
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    method_label_ = method_label(message);

    request_ = HttpRequest{};
    request_.method = std::string(message.method_string());
    request_.target = std::string(message.target());
    auto url = boost::urls::parse_uri_reference(request_.target);
    if (!url || request_.target.empty()) {
      server_->errors_bad.inc();
      return reject(400, "malformed request target");
    }
    request_.path = url->path();
    if (request_.path.empty()) request_.path = "/";
    request_.query = std::string(url->encoded_query());
    request_.headers.reserve(std::distance(message.begin(), message.end()));
    for (const auto& field : message) {
      request_.headers.emplace_back(lower(field.name_string()), std::string(field.value()));
    }
    request_.body = std::move(message.body());
    parser_.reset();

    route_ = server_->router.match(request_.method, request_.path);
    if (route_.empty()) route_ = "unmatched";

    auto executor = stream_.get_executor();
    Responder respond = [self = self(), executor, serial = serial_](HttpResponse response) {
      net::post(executor, [self, serial, response = std::move(response)]() mutable {
        self->on_response(serial, std::move(response));
      });
    };
    try {
      server_->router.dispatch(request_, respond);
    } catch (const std::exception& e) {
      log::error("http handler threw", {{"route", route_}, {"error", e.what()}});
      respond(HttpResponse::error(500, "internal error"));
    }
  }

  // Runs on the session's reactor. Ignores late or repeated answers.
  void on_response(std::uint64_t serial, HttpResponse response) {
    if (state_ != State::handling || serial != serial_) return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (response.status < 100 || response.status > 599) response.status = 500;
    server_->observe(*shard_, route_, method_label_, response.status, seconds);
    bool keep_alive = keep_alive_ && !server_->draining;
    write(build(std::move(response), keep_alive), false);
  }

  http::response<http::string_body> build(HttpResponse response, bool keep_alive) {
    http::response<http::string_body> message;
    message.version(version_);
    message.result(static_cast<unsigned>(response.status));
    message.set(http::field::server, "hookd/" HOOKD_VERSION);
    if (!response.content_type.empty()) {
      message.set(http::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers)
      message.insert(name, value);
    message.body() = std::move(response.body);
    message.keep_alive(keep_alive);
    message.prepare_payload();
    return message;
  }

  // An error answered before routing; the connection closes after it.
  void reject(int status, std::string message) {
    std::string route = "unmatched";
    if (parser_ && parser_->is_header_done()) {
      auto& header = parser_->get();
      if (auto url = boost::urls::parse_uri_reference(header.target())) {
        std::string matched = server_->router.match(header.method_string(), url->path());
        if (!matched.empty()) route = matched;
      }
      method_label_ = method_label(header);
      version_ = header.version();
    } else {
      method_label_ = "other";
      version_ = 11;
    }
    parser_.reset();
    server_->observe(*shard_, route, method_label_, status, -1);
    write(build(HttpResponse::error(status, message), false), true);
  }

  void write(http::response<http::string_body> message, bool linger) {
    state_ = State::writing;
    response_.emplace(std::move(message));
    lowest().expires_after(options().read_timeout);
    bool close_after = response_->need_eof();
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Session::on_write, self(), close_after, linger));
  }

  void on_write(bool close_after, bool linger, beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    response_.reset();
    if (ec) return fail(ec, "write");
    if (close_after) return shutdown(linger || buffer_.size() > 0);
    first_request_ = false;
    wait_for_request();
  }

  // Closes after a final response: TLS sends close_notify; plain TCP shuts
  // down the sending side and, when the client may still be sending, reads
  // and discards for a moment so it can read our answer before the close.
  void shutdown(bool linger) {
    state_ = State::closing;
    auto linger_time = std::min<std::chrono::milliseconds>(options().read_timeout, kLingerCap);
    if constexpr (kTls) {
      lowest().expires_after(linger_time);
      stream_.async_shutdown([self = self()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      if (!linger) return close();
      lowest().expires_after(linger_time);
      discard();
    }
  }

  void discard() {
    buffer_.clear();
    lowest().async_read_some(buffer_.prepare(kReadSize),
                             [self = self()](beast::error_code ec, std::size_t) {
                               if (self->state_ == State::closed) return;
                               if (ec) return self->close();
                               self->discard();
                             });
  }

  void fail(beast::error_code ec, std::string_view what) {
    if (ec != net::error::operation_aborted && ec != beast::error::timeout &&
        ec != net::error::eof) {
      log::debug("http connection error",
                 {{"what", what}, {"error", ec.message()}, {"peer", peer()}});
    }
    close();
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    lowest().close();
    if (registered_) {
      shard_->sessions.erase(registration_);
      registered_ = false;
    }
    account();
  }

  void account() {
    if (accounted_) return;
    accounted_ = true;
    server_->open_gauge.add(-1);
    server_->release_slot();
  }

  std::string peer() {
    beast::error_code ec;
    auto endpoint = lowest().socket().remote_endpoint(ec);
    if (ec) return "?";
    return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  std::shared_ptr<Server> server_;
  std::shared_ptr<Shard> shard_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  std::optional<http::response<http::string_body>> response_;
  HttpRequest request_;
  std::string route_;
  std::string method_label_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool registered_ = false;
  bool accounted_ = false;
  State state_ = State::idle;
  std::uint64_t serial_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::list<std::weak_ptr<SessionBase>>::iterator registration_;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

Result<std::unique_ptr<ssl::context>> make_tls_context(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return make_error("tls: both a certificate and a key file are needed");
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  beast::error_code ec;
  context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) return make_error("tls: certificate " + options.tls_cert_file + ": " + ec.message());
  context->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) return make_error("tls: key " + options.tls_key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return make_error("tls: key " + options.tls_key_file + " does not match the certificate");
  }
  return context;
}

Status Server::listen_on(Shard& shard, const tcp::endpoint& endpoint) {
  beast::error_code ec;
  auto where = [&] {
    return "listen " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  };
  auto& acceptor = shard.acceptor.emplace(shard.context);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return make_error(where() + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return make_error(where() + ": " + ec.message());
  // One listening socket per reactor on the same port; the kernel spreads
  // new connections across them.
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return make_error(where() + ": SO_REUSEPORT: " + std::strerror(errno));
  }
  acceptor.bind(endpoint, ec);
  if (ec) return make_error(where() + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(where() + ": " + ec.message());
  shard.retry_timer.emplace(shard.context);
  return Ok{};
}

Status Server::start() {
  if (started) return make_error("http server already started");
  started = true;
  auto address = parse_listen(options.listen);
  if (!address) return address.error();

  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto context = make_tls_context(options);
    if (!context) return context.error();
    tls = std::move(context.value());
  }

  tcp::endpoint endpoint;
  beast::error_code ec;
  auto ip = net::ip::make_address(address->host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, static_cast<unsigned short>(std::stoul(address->port)));
  } else {
    // A host name: resolved once, at start-up, where blocking is fine.
    tcp::resolver resolver(reactor.context(0));
    auto results = resolver.resolve(address->host, address->port, ec);
    if (ec || results.empty()) {
      return make_error("listen: cannot resolve '" + address->host +
                        "': " + (ec ? ec.message() : "no address"));
    }
    endpoint = results.begin()->endpoint();
  }

  std::vector<std::shared_ptr<Shard>> bound;
  for (std::size_t i = 0; i < reactor.size(); ++i) {
    bound.push_back(std::make_shared<Shard>(reactor.context(i)));
    auto status = listen_on(*bound.back(), endpoint);
    if (!status) return status;
    if (endpoint.port() == 0) {
      // Port 0: the first bind picks the port, the others share it.
      endpoint.port(bound.back()->acceptor->local_endpoint().port());
    }
  }
  port = endpoint.port();
  for (auto& shard : bound) {
    shards.push_back(shard);
    auto& context = shard->context;
    net::post(context, [self = shared_from_this(), shard = std::move(shard)]() mutable {
      self->accept(std::move(shard));
    });
  }
  log::info("http server listening", {{"address", endpoint.address().to_string()},
                                      {"port", endpoint.port()},
                                      {"tls", tls != nullptr},
                                      {"acceptors", bound.size()}});
  return Ok{};
}

void Server::accept(std::shared_ptr<Shard> shard) {
  if (stopped || draining || !shard->acceptor->is_open()) return;
  auto& acceptor = *shard->acceptor;
  auto& context = shard->context;
  acceptor.async_accept(context, [self = shared_from_this(), shard = std::move(shard)](
                                     beast::error_code ec, tcp::socket socket) mutable {
    self->on_accept(std::move(shard), ec, std::move(socket));
  });
}

void Server::on_accept(std::shared_ptr<Shard> shard, beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopped) return;
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning.
    log::warn("http accept failed", {{"error", ec.message()}});
    auto& timer = *shard->retry_timer;
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait(
        [self = shared_from_this(), shard = std::move(shard)](beast::error_code wait_ec) mutable {
          if (!wait_ec) self->accept(std::move(shard));
        });
    return;
  }
  start_session(shard, std::move(socket));
  accept(std::move(shard));
}

void Server::start_session(const std::shared_ptr<Shard>& shard, tcp::socket socket) {
  // Count first, then look at `draining`: drain() does the opposite, so a
  // connection accepted while drain starts is either seen by drain or refused.
  std::size_t now_open = ++open;
  if (draining || now_open > options.max_connections) {
    if (!draining) rejected.inc();
    beast::error_code ignored;
    socket.close(ignored);
    release_slot();
    return;
  }
  open_gauge.add(1);
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (tls) {
    std::make_shared<TlsSession>(shared_from_this(), shard, std::move(socket))->run();
  } else {
    std::make_shared<PlainSession>(shared_from_this(), shard, std::move(socket))->run();
  }
}

void Server::release_slot() {
  if (--open == 0 && draining) finish_drain();
}

void Server::finish_drain() {
  std::function<void()> done;
  {
    std::lock_guard lock(drain_mutex);
    done = std::move(drain_done);
    drain_done = nullptr;
  }
  if (done && !stopped) net::post(reactor.context(0), std::move(done));
}

void Server::drain(std::function<void()> done) {
  {
    std::lock_guard lock(drain_mutex);
    drain_done = std::move(done);
  }
  draining = true;
  for (auto& weak : shards) {
    auto shard = weak.lock();
    if (!shard) continue;
    auto& context = shard->context;
    // The shard moves into the handler: it must be released on its reactor.
    net::post(context, [shard = std::move(shard)] {
      beast::error_code ignored;
      shard->acceptor->close(ignored);
      shard->retry_timer->cancel();
      // drain() may close a session, which unlinks it from the list.
      std::vector<std::shared_ptr<SessionBase>> live;
      for (auto& session : shard->sessions) {
        if (auto alive = session.lock()) live.push_back(std::move(alive));
      }
      for (auto& session : live)
        session->drain();
    });
  }
  if (open == 0) finish_drain();
}

void Server::stop() {
  stopped = true;
  for (auto& weak : shards) {
    auto shard = weak.lock();
    if (!shard) continue;
    auto& context = shard->context;
    net::post(context, [shard = std::move(shard)] {
      beast::error_code ignored;
      shard->acceptor->close(ignored);
      shard->retry_timer->cancel();
    });
  }
}

void Server::observe(Shard& shard, const std::string& route, const std::string& method, int status,
                     double seconds) {
  std::string status_text = std::to_string(status);
  std::string key = route + '\n' + method + '\n' + status_text;
  auto counter = shard.request_counters.find(key);
  if (counter == shard.request_counters.end()) {
    Counter& c = metrics().counter("hookd_http_requests_total", "HTTP requests answered",
                                   {{"route", route}, {"method", method}, {"status", status_text}});
    counter = shard.request_counters.emplace(std::move(key), &c).first;
  }
  counter->second->inc();
  if (seconds < 0) return;
  auto histogram = shard.durations.find(route);
  if (histogram == shard.durations.end()) {
    Histogram& h = metrics().histogram("hookd_http_request_duration_seconds",
                                       "Time from a complete request to its response",
                                       latency_buckets_seconds(), {{"route", route}});
    histogram = shard.durations.emplace(route, &h).first;
  }
  histogram->second->observe(seconds);
}

}  // namespace

struct HttpServer::Impl : Server {
  using Server::Server;
};

HttpServer::HttpServer(Reactor& reactor, HttpServerOptions options, Router router)
    : impl_(std::make_shared<Impl>(reactor, std::move(options), std::move(router))) {}

HttpServer::~HttpServer() {
  impl_->stop();
}

Status HttpServer::start() {
  return impl_->start();
}

unsigned short HttpServer::port() const {
  return impl_->port;
}

void HttpServer::drain(std::function<void()> done) {
  impl_->drain(std::move(done));
}

}  // namespace hookd
