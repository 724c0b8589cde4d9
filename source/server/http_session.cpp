#include "http_session.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "http_listener.h"
#include "reply_inbox.h"
#include "request_parser.h"
#include "response_writer.h"

namespace hookd {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::string_view kContinue11 = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kContinue10 = "HTTP/1.0 100 Continue\r\n\r\n";
// After an error response the client may still be sending the request we
// refused; reading (and discarding) for a moment before closing keeps the
// kernel from resetting the connection before the client has read our answer.
constexpr std::chrono::milliseconds kLingerCap{2000};

std::string peer_of(const tcp::socket& socket) {
  beast::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "?";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// The HTTP/1.1 side of one connection, shared by the plain and the TLS
// session (Beast's CRTP pattern: Derived owns the stream, starts the
// connection and ends it). Reads requests with a whole-request deadline and
// size limits, answers them in order (pipelining), keeps the connection
// alive between them. Lives on one reactor, so its state needs no locking;
// responders from other threads post back to it.
template <class Derived>
class HttpSession : public DrainableSession, public ReplyTarget {
 public:
  void drain() override {
    // A connection between requests is closed now; one inside a request
    // finishes it and then closes (keep-alive is turned off in on_response).
    if (state_ == State::idle) close();
  }

 protected:
  enum class State { handshake, idle, reading, handling, writing, closing, closed };

  HttpSession(std::shared_ptr<HttpListener> owner, std::shared_ptr<Shard> shard)
      : slot_(std::move(owner), std::move(shard)),
        idle_timer_(slot_.shard().context),
        parser_(listener().options()) {}

  void enlist() { slot_.enlist(derived().weak_from_this()); }
  Derived& derived() { return static_cast<Derived&>(*this); }
  std::shared_ptr<Derived> self() { return derived().shared_from_this(); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(derived().stream()); }
  HttpListener& listener() const { return slot_.listener(); }
  Shard& shard() const { return slot_.shard(); }
  const HttpServerOptions& options() const { return listener().options(); }
  RequestErrorCounters& errors() { return listener().errors(); }
  beast::flat_buffer& buffer() { return parser_.buffer(); }
  std::chrono::milliseconds linger_time() const {
    return std::min<std::chrono::milliseconds>(options().read_timeout, kLingerCap);
  }

  // Waits for the first byte of the next request. Separate from reading the
  // request so that an idle keep-alive connection is told apart from one
  // that is in the middle of a request (idle timeout vs read timeout, drain).
  void wait_for_request() {
    if (listener().draining()) return close();
    if (buffer().size() > 0) {
      // Pipelined: the next request is already (partly) here.
      return read_request(true);
    }
    state_ = State::idle;
    // The first request's read_timeout runs from accept (set in run() or
    // on_handshake), so a client that connects and sends nothing is cut off.
    if (!first_request_) extend_idle_deadline();
    derived().stream().async_read_some(
        buffer().prepare(kReadSize),
        beast::bind_front_handler(&HttpSession::on_first_bytes, self()));
  }

  void fail(beast::error_code ec, std::string_view what) {
    if (ec != net::error::operation_aborted && ec != beast::error::timeout &&
        ec != net::error::eof) {
      log::debug("http connection error",
                 {{"what", what}, {"error", ec.message()}, {"peer", peer_of(lowest().socket())}});
    }
    close();
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    idle_timer_.cancel();
    lowest().close();
    slot_.release();
  }

  State state_ = State::idle;

 private:
  using Clock = std::chrono::steady_clock;

  // Between keep-alive requests only idle_timeout runs, as a deadline the
  // session moves at every request. Its timer is armed only when none is
  // waiting and, when it fires early, waits again for the moved deadline:
  // the stream's own timer, set per request, cost a timer wait, its
  // cancellation and the aborted wait's handler for every request.
  void extend_idle_deadline() {
    if (stream_expiry_set_) {
      // An asynchronous write left the stream's timer set.
      lowest().expires_never();
      stream_expiry_set_ = false;
    }
    idle_deadline_ = Clock::now() + options().idle_timeout;
    if (!idle_timer_armed_) arm_idle_timer();
  }

  void arm_idle_timer() {
    idle_timer_armed_ = true;
    idle_timer_.expires_at(idle_deadline_);
    idle_timer_.async_wait(beast::bind_front_handler(&HttpSession::on_idle_timer, self()));
  }

  void on_idle_timer(beast::error_code ec) {
    idle_timer_armed_ = false;
    // Cancelled by close(); or a request is under way, which read_timeout
    // covers, and its end moves the deadline and arms the timer again.
    if (ec || state_ != State::idle) return;
    if (Clock::now() < idle_deadline_) return arm_idle_timer();
    close();
  }

  void on_first_bytes(beast::error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    if (ec) {
      // Idle keep-alive timeouts and clients closing between requests are
      // normal; only a first request that never arrives counts as a timeout.
      if (ec == beast::error::timeout && first_request_) errors().timeout.inc();
      return close();
    }
    buffer().commit(bytes);
    // The first request's read_timeout already runs from accept.
    read_request(!first_request_);
  }

  void read_request(bool restart_timeout) {
    state_ = State::reading;
    parser_.begin(request_.body);
    restart_timer_ = restart_timeout;
    read_header();
  }

  // The first asynchronous operation of a request restarts the read timer;
  // a request that arrived whole costs no timer update.
  void arm_read_timer() {
    if (!restart_timer_) return;
    restart_timer_ = false;
    lowest().expires_after(options().read_timeout);
  }

  void read_header() {
    switch (parser_.scan_header()) {
      case RequestParser::HeaderScan::too_big:
        return header_too_big();
      case RequestParser::HeaderScan::incomplete:
        arm_read_timer();
        return derived().stream().async_read_some(
            buffer().prepare(kReadSize),
            beast::bind_front_handler(&HttpSession::on_header_bytes, self()));
      case RequestParser::HeaderScan::complete:
        break;
    }
    if (auto ec = parser_.parse_header()) return on_read_error(ec);
    if (!parser_.header_done()) {
      errors().bad_request.inc();
      return reject(400, "malformed request header");
    }
    on_header();
  }

  void header_too_big() {
    errors().header_limit.inc();
    reject(431, "request header exceeds " + std::to_string(options().max_header_bytes) + " bytes");
  }

  void on_header_bytes(beast::error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    if (ec == net::error::eof) {
      // The client stopped inside the header: the parser says what is wrong
      // with what came, if anything, else it is a partial message.
      auto parse_ec = parser_.parse_buffered();
      return on_read_error(parse_ec ? parse_ec : beast::error_code(http::error::partial_message));
    }
    if (ec) return on_read_error(ec);
    buffer().commit(bytes);
    read_header();
  }

  // The header is parsed; its framing is checked before the body is read.
  void on_header() {
    if (auto [status, problem] = parser_.framing_problem(); status != 0) {
      errors().bad_request.inc();
      return reject(status, std::string(problem));
    }
    // A small request usually arrives whole with its first bytes: parsed
    // here, it skips the asynchronous reads. Anything else (more to come,
    // 100-continue) takes the asynchronous path, which carries on from where
    // the parser stopped.
    if (auto ec = parser_.parse_body_buffered()) return on_read_error(ec);
    if (parser_.done()) return handle();
    if (parser_.expects_continue()) {
      // curl and others wait for this before sending a body.
      std::string_view interim =
          parser_.message().version >= 11 ? kContinue11 : kContinue10;  // static storage
      arm_read_timer();
      return net::async_write(derived().stream(), net::buffer(interim.data(), interim.size()),
                              beast::bind_front_handler(&HttpSession::on_continue, self()));
    }
    read_body();
  }

  void on_continue(beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    if (ec) return fail(ec, "write 100-continue");
    read_body();
  }

  void read_body() {
    arm_read_timer();
    http::async_read(derived().stream(), buffer(), parser_.parser(),
                     beast::bind_front_handler(&HttpSession::on_read, self()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    handle();
  }

  void on_read_error(beast::error_code ec) {
    switch (classify_read_error(ec)) {
      case ReadFailure::closed:
        return close();
      case ReadFailure::timeout:
        errors().timeout.inc();
        log::debug("http read timeout", {{"peer", peer_of(lowest().socket())}});
        return close();
      case ReadFailure::body_limit:
        errors().body_limit.inc();
        return reject(
            413, "request body exceeds " + std::to_string(options().max_body_bytes) + " bytes");
      case ReadFailure::header_limit:
        return header_too_big();
      case ReadFailure::malformed:
        errors().bad_request.inc();
        return reject(400, "malformed request: " + ec.message());
      case ReadFailure::tls:
        if constexpr (Derived::kTls) errors().tls.inc();
        break;
      case ReadFailure::other:
        break;
    }
    fail(ec, "read");
  }

  void handle() {
    state_ = State::handling;
    ++serial_;
    lowest().expires_never();
    started_ = std::chrono::steady_clock::now();
    facts_ = parser_.facts();
    if (!to_http_request(parser_.message(), request_)) {
      errors().bad_request.inc();
      return reject(400, "malformed request target");
    }
    parser_.reset();

    // Called from any thread (the journal's, typically): the answer hops back
    // to this session's reactor through its inbox, one post for all the
    // answers of a group commit.
    Responder respond = [self = self(), serial = serial_](HttpResponse response) {
      self->shard().replies->deliver(self, serial, std::move(response));
    };
    // The route's label comes from dispatch's own lookup. Every answer is
    // posted (the inbox, or the post below), so the label is in place
    // before on_response reads it.
    std::string_view route;
    auto label = [&] { route_.assign(route.empty() ? std::string_view("unmatched") : route); };
    try {
      listener().router().dispatch(request_, std::move(respond), &route);
      label();
    } catch (const std::exception& e) {
      label();
      log::error("http handler threw", {{"route", route_}, {"error", e.what()}});
      // Posted like any answer, so one the handler gave before throwing wins.
      net::post(shard().context, [self = self(), serial = serial_] {
        self->on_response(serial, HttpResponse::error(500, "internal error"));
      });
    }
  }

  void on_reply(std::uint64_t serial, HttpResponse&& response) override {
    on_response(serial, std::move(response));
  }

  // Runs on the session's reactor. Ignores late or repeated answers.
  void on_response(std::uint64_t serial, HttpResponse&& response) {
    if (state_ != State::handling || serial != serial_) return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (response.status < 100 || response.status > 599) response.status = 500;
    shard().series.observe(route_, facts_.method_label, response.status, seconds);
    bool keep_alive = facts_.keep_alive && !listener().draining();
    write(std::move(response), keep_alive, false);
  }

  // An error answered before routing; the connection closes after it.
  void reject(int status, std::string message) {
    route_ = parser_.header_route(listener().router());
    std::string_view route = route_.empty() ? std::string_view("unmatched") : route_;
    facts_ = parser_.facts();
    parser_.reset();
    shard().series.observe(route, facts_.method_label, status, -1);
    write(HttpResponse::error(status, message), false, true);
  }

  // The head is serialized by hand and written with the body in one gather
  // write: Beast's serializer costs more than the rest of an ingest request.
  void write(HttpResponse&& response, bool keep_alive, bool linger) {
    state_ = State::writing;
    auto buffers = out_.prepare(std::move(response), facts_.version, facts_.head, keep_alive);
    // What the stream does not take at once is written asynchronously,
    // under the write timeout.
    beast::error_code ec;
    if (derived().write_at_once(buffers, ec)) return on_write(!keep_alive, linger, ec, 0);
    lowest().expires_after(options().read_timeout);
    stream_expiry_set_ = true;
    net::async_write(
        derived().stream(), buffers,
        beast::bind_front_handler(&HttpSession::on_write, self(), !keep_alive, linger));
  }

  void on_write(bool close_after, bool linger, beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    out_.release();
    if (ec) return fail(ec, "write");
    if (close_after) {
      state_ = State::closing;
      return derived().close_after_response(linger || buffer().size() > 0);
    }
    first_request_ = false;
    wait_for_request();
  }

  ConnectionSlot slot_;
  net::steady_timer idle_timer_;
  Clock::time_point idle_deadline_;
  bool idle_timer_armed_ = false;
  bool stream_expiry_set_ = false;  // by an asynchronous write
  RequestParser parser_;
  HttpRequest request_;
  ResponseBuffers out_;
  std::string route_;
  RequestFacts facts_;
  bool restart_timer_ = false;
  bool first_request_ = true;
  std::uint64_t serial_ = 0;
  std::chrono::steady_clock::time_point started_;
};

class PlainSession : public HttpSession<PlainSession>,
                     public std::enable_shared_from_this<PlainSession> {
 public:
  static constexpr bool kTls = false;

  PlainSession(std::shared_ptr<HttpListener> owner, std::shared_ptr<Shard> shard,
               tcp::socket socket)
      : HttpSession(std::move(owner), std::move(shard)), stream_(std::move(socket)) {}

  void run() {
    enlist();
    // For write_at_once(): a synchronous write_some that never waits.
    // Asynchronous operations are not affected.
    beast::error_code ignored;
    stream_.socket().non_blocking(true, ignored);
    stream_.expires_after(options().read_timeout);
    wait_for_request();
  }

 private:
  friend class HttpSession<PlainSession>;

  beast::tcp_stream& stream() { return stream_; }

  bool write_at_once(ResponseGather& buffers, beast::error_code& ec) {
    return write_now(stream_.socket(), buffers, ec);
  }

  // Shuts down the sending side and, when the client may still be sending,
  // reads and discards for a moment so it can read our answer before the
  // close.
  void close_after_response(bool linger) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!linger) return close();
    stream_.expires_after(linger_time());
    discard();
  }

  void discard() {
    buffer().clear();
    stream_.async_read_some(buffer().prepare(kReadSize),
                            [self = self()](beast::error_code ec, std::size_t) {
                              if (self->state_ == State::closed) return;
                              if (ec) return self->close();
                              self->discard();
                            });
  }

  beast::tcp_stream stream_;
};

class TlsSession : public HttpSession<TlsSession>, public std::enable_shared_from_this<TlsSession> {
 public:
  static constexpr bool kTls = true;

  TlsSession(std::shared_ptr<HttpListener> owner, std::shared_ptr<Shard> shard, tcp::socket socket,
             std::shared_ptr<ssl::context> context)
      : HttpSession(std::move(owner), std::move(shard)),
        context_(std::move(context)),
        stream_(std::move(socket), *context_) {}

  void run() {
    enlist();
    state_ = State::handshake;
    lowest().expires_after(options().read_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&TlsSession::on_handshake, self()));
  }

 private:
  friend class HttpSession<TlsSession>;

  beast::ssl_stream<beast::tcp_stream>& stream() { return stream_; }

  // Every write goes through the TLS stream's asynchronous path.
  bool write_at_once(ResponseGather&, beast::error_code&) { return false; }

  // close_notify, then close.
  void close_after_response(bool) {
    lowest().expires_after(linger_time());
    stream_.async_shutdown([self = self()](beast::error_code) { self->close(); });
  }

  void on_handshake(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) {
      errors().tls.inc();
      return fail(ec, "tls handshake");
    }
    lowest().expires_after(options().read_timeout);
    wait_for_request();
  }

  // Declared before stream_, so it outlives the SSL object made from it.
  std::shared_ptr<ssl::context> context_;
  beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

void run_session(std::shared_ptr<HttpListener> listener, std::shared_ptr<Shard> shard,
                 tcp::socket socket) {
  if (auto context = listener->tls()) {
    std::make_shared<TlsSession>(std::move(listener), std::move(shard), std::move(socket),
                                 std::move(context))
        ->run();
  } else {
    std::make_shared<PlainSession>(std::move(listener), std::move(shard), std::move(socket))->run();
  }
}

}  // namespace hookd
