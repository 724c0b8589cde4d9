#include "hookd/server/http_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url/grammar/string_token.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "hookd/core/ascii.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/server/reactor.h"

namespace hookd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------
// HttpRequest / HttpResponse

namespace {

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Messages often echo request bytes (a percent-decoded path); Boost.JSON
// writes strings as given, so invalid UTF-8 would make the body invalid JSON.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    std::size_t n = utf8_sequence(s);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, for one byte
      n = 1;
    } else {
      out.append(s.data(), n);
    }
    s.remove_prefix(n);
  }
  return out;
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (ascii_iequals(key, name)) return value;
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
  object["error"] = valid_utf8(message);
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

// Walks `path` segment by segment as split_path() cuts it, without building
// the list: this runs for every request, split_path() only for add().
bool segments_match(const std::vector<std::string>& pattern, std::string_view path,
                    std::map<std::string, std::string>* params) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::size_t start = 0;  // path.size() + 1 once the last segment is taken
  for (const std::string& segment : pattern) {
    if (start > path.size()) return false;
    std::size_t end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (is_param(segment)) {
      if (part.empty()) return false;
      if (params) (*params)[segment.substr(1, segment.size() - 2)] = std::string(part);
    } else if (segment != part) {
      return false;
    }
  }
  return start == path.size() + 1;
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

const Router::Route* Router::find(std::string_view method, std::string_view path) const {
  const Route* get = nullptr;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, path, nullptr)) continue;
    if (route.method == method) return &route;
    if (!get && route.method == "GET") get = &route;
  }
  // HEAD is GET without the body (RFC 9110 section 9.3.2); the server drops
  // the body and keeps its Content-Length.
  return method == "HEAD" ? get : nullptr;
}

std::string Router::match(std::string_view method, std::string_view path) const {
  if (const Route* route = find(method, path)) return route->pattern;
  for (const Route& route : routes_) {
    if (segments_match(route.segments, path, nullptr)) return route.pattern;
  }
  return std::string();
}

void Router::dispatch(HttpRequest& request, Responder respond) const {
  if (const Route* route = find(request.method, request.path)) {
    request.params.clear();
    segments_match(route->segments, request.path, &request.params);
    route->handler(request, std::move(respond));
    return;
  }
  std::string allow;
  for (const Route& route : routes_) {
    if (!segments_match(route.segments, request.path, nullptr)) continue;
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
// Per-connection buffers up to this size are reused across requests.
constexpr std::size_t kKeepBufferBytes = 64 * 1024;
constexpr std::string_view kContinue11 = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kContinue10 = "HTTP/1.0 100 Continue\r\n\r\n";
// After an error response the client may still be sending the request we
// refused; reading (and discarding) for a moment before closing keeps the
// kernel from resetting the connection before the client has read our answer.
constexpr std::chrono::milliseconds kLingerCap{2000};

// hookd_http_requests_total is cached per (route, method, status); looked up
// by views so that a request builds no label strings.
struct SeriesKey {
  std::string route;
  std::string method;
  int status;
};

struct SeriesKeyView {
  std::string_view route;
  std::string_view method;
  int status;
};

struct SeriesHash {
  using is_transparent = void;
  std::size_t operator()(const SeriesKeyView& k) const {
    std::size_t h = std::hash<std::string_view>{}(k.route);
    h = h * 31 + std::hash<std::string_view>{}(k.method);
    return h * 31 + static_cast<std::size_t>(k.status);
  }
  std::size_t operator()(const SeriesKey& k) const {
    return (*this)(SeriesKeyView{k.route, k.method, k.status});
  }
};

struct SeriesEqual {
  using is_transparent = void;
  static SeriesKeyView view(const SeriesKeyView& k) { return k; }
  static SeriesKeyView view(const SeriesKey& k) { return {k.route, k.method, k.status}; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    SeriesKeyView x = view(a), y = view(b);
    return x.status == y.status && x.route == y.route && x.method == y.method;
  }
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

void append_number(std::string& out, std::size_t n) {
  char digits[20];
  char* end = digits + sizeof digits;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

bool has_line_break(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

// A field a handler set that would split the response or contradict the
// framing the server writes itself.
bool unsafe_field(std::string_view name, std::string_view value) {
  if (name.empty() || has_line_break(name) || has_line_break(value)) return true;
  if (name.find(':') != std::string_view::npos) return true;
  return ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
         ascii_iequals(name, "connection");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name.data(), name.size());
  out += ": ";
  out.append(value.data(), value.size());
  out += "\r\n";
}

// Status line and fields of `response` into `out`, in the order Beast wrote
// them. Returns whether a body follows: 1xx, 204 and 304 have none (Beast
// threw on a body there, and sent "Content-Length: 0" with a 204).
bool serialize_head(std::string& out, unsigned version, const HttpResponse& response,
                    std::size_t body_size, bool keep_alive) {
  out.clear();
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
  out += ' ';
  append_number(out, static_cast<std::size_t>(response.status));
  out += ' ';
  auto reason = http::obsolete_reason(static_cast<http::status>(response.status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: hookd/" HOOKD_VERSION "\r\n";
  if (!response.content_type.empty() && !has_line_break(response.content_type)) {
    append_field(out, "Content-Type", response.content_type);
  }
  for (const auto& [name, value] : response.headers) {
    if (!unsafe_field(name, value)) append_field(out, name, value);
  }
  if (version >= 11) {
    if (!keep_alive) out += "Connection: close\r\n";
  } else if (keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  const bool has_body = response.status >= 200 && response.status != 204 && response.status != 304;
  if (has_body) {
    out += "Content-Length: ";
    append_number(out, body_size);
    out += "\r\n";
  }
  out += "\r\n";
  return has_body;
}

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
  std::unordered_map<SeriesKey, Counter*, SeriesHash, SeriesEqual> request_counters;
  std::unordered_map<std::string, Histogram*, StringHash, std::equal_to<>> durations;
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

std::string_view method_label(const http::request<http::string_body>& message) {
  // Unknown methods are caller-controlled text; Beast's verbs are a fixed set.
  if (message.method() == http::verb::unknown) return "other";
  return http::to_string(message.method());
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
  void close_acceptors(bool drain_sessions);
  void observe(Shard& shard, std::string_view route, std::string_view method, int status,
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
      // For write(): a synchronous write_some that never waits. Asynchronous
      // operations are not affected.
      beast::error_code ignored;
      lowest().socket().non_blocking(true, ignored);
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
      return read_request(true);
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
    // The first request's read_timeout already runs from accept.
    read_request(!first_request_);
  }

  void read_request(bool restart_timeout) {
    state_ = State::reading;
    parser_.emplace();
    // The previous request's body buffer is reused (Beast appends to it).
    request_.body.clear();
    if (request_.body.capacity() <= kKeepBufferBytes) parser_->get().body().swap(request_.body);
    parser_->body_limit(static_cast<std::uint64_t>(options().max_body_bytes));
    // Only a second guard: Beast counts the bytes it has not parsed yet, and
    // not the request line. read_header() enforces the limit on the block.
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
    // The header alone first: its framing is checked before any body byte is
    // parsed (see on_header(), which turns eager parsing on).
    parser_->eager(false);
    restart_timer_ = restart_timeout;
    header_scanned_ = 0;
    read_header();
  }

  // The first asynchronous operation of a request restarts the read timer;
  // a request that arrived whole costs no timer update.
  void arm_read_timer() {
    if (!restart_timer_) return;
    restart_timer_ = false;
    lowest().expires_after(options().read_timeout);
  }

  std::string_view buffered() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }

  // The parser gets the header only once all of it is buffered: Beast
  // forgets the fields it parsed from an earlier read, so fed piecemeal it
  // would let a header grow to about twice max_header_bytes.
  void read_header() {
    std::string_view data = buffered();
    std::size_t end = header_end(data, header_scanned_);
    if (end == std::string_view::npos) {
      if (data.size() >= options().max_header_bytes) return header_too_big();
      // The blank line may straddle this read and the next one.
      header_scanned_ = data.size() >= 2 ? data.size() - 2 : 0;
      arm_read_timer();
      return stream_.async_read_some(buffer_.prepare(kReadSize),
                                     beast::bind_front_handler(&Session::on_header_bytes, self()));
    }
    if (end > options().max_header_bytes) return header_too_big();
    beast::error_code ec;
    buffer_.consume(parser_->put(buffer_.data(), ec));
    if (ec == http::error::need_more) ec = {};
    if (ec) return on_read_error(ec);
    if (!parser_->is_header_done()) {
      server_->errors_bad.inc();
      return reject(400, "malformed request header");
    }
    on_header();
  }

  // One past the empty line that ends the header (CRLF CRLF; bare LF ones
  // too, so that the parser rejects them now), searching from `from`.
  static std::size_t header_end(std::string_view data, std::size_t from) {
    for (std::size_t lf = data.find('\n', from); lf != std::string_view::npos;
         lf = data.find('\n', lf + 1)) {
      if (lf + 1 < data.size() && data[lf + 1] == '\n') return lf + 2;
      if (lf + 2 < data.size() && data[lf + 1] == '\r' && data[lf + 2] == '\n') return lf + 3;
    }
    return std::string_view::npos;
  }

  void parse_buffered(beast::error_code& ec) {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec || used == 0) break;
    }
    if (ec == http::error::need_more) ec = {};
  }

  void header_too_big() {
    server_->errors_header.inc();
    reject(431, "request header exceeds " + std::to_string(options().max_header_bytes) + " bytes");
  }

  void on_header_bytes(beast::error_code ec, std::size_t bytes) {
    if (state_ == State::closed) return;
    if (ec == net::error::eof) {
      // The client stopped inside the header: the parser says what is wrong
      // with what came, if anything, else it is a partial message.
      beast::error_code parse_ec;
      parse_buffered(parse_ec);
      return on_read_error(parse_ec ? parse_ec : beast::error_code(http::error::partial_message));
    }
    if (ec) return on_read_error(ec);
    buffer_.commit(bytes);
    read_header();
  }

  // RFC 9112 section 6: a Transfer-Encoding that does not end in chunked, one
  // in an HTTP/1.0 request, or one next to a Content-Length leaves the body's
  // length open to interpretation; reading on would let a proxy that frames
  // the request differently smuggle a second request in its body. Beast
  // reads such a request as bodiless. Answered with 400 and the connection
  // closes; so is a coding before chunked, which hookd does not decode (RFC
  // 9112 suggests 501, but bad input gets a 4xx here).
  std::pair<int, std::string_view> framing_problem() const {
    const auto& message = parser_->get();
    if (message.count(http::field::transfer_encoding) == 0) return {0, {}};
    if (message.version() < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
    if (message.count(http::field::content_length) != 0) {
      return {400, "both Transfer-Encoding and Content-Length"};
    }
    if (!parser_->chunked()) return {400, "Transfer-Encoding does not end in chunked"};
    auto [first, last] = message.equal_range(http::field::transfer_encoding);
    for (auto field = first; field != last; ++field) {
      std::string_view codings = field->value();
      while (!codings.empty()) {
        std::size_t comma = std::min(codings.find(','), codings.size());
        std::string_view coding = trim_ows(codings.substr(0, comma));
        codings.remove_prefix(std::min(comma + 1, codings.size()));
        if (!coding.empty() && !ascii_iequals(coding, "chunked")) {
          return {400, "transfer codings other than chunked are not supported"};
        }
      }
    }
    return {0, {}};
  }

  // The header is parsed (and, for a small request, maybe the body too).
  void on_header() {
    if (auto [status, problem] = framing_problem(); status != 0) {
      server_->errors_bad.inc();
      return reject(status, std::string(problem));
    }
    // A small request usually arrives whole with its first bytes: parsed
    // here, it skips the asynchronous reads. Anything else (more to come,
    // 100-continue) takes the asynchronous path, which carries on from where
    // the parser stopped.
    parser_->eager(true);
    beast::error_code ec;
    parse_buffered(ec);
    if (ec) return on_read_error(ec);
    if (parser_->is_done()) return handle();
    auto& message = parser_->get();
    if (ascii_iequals(message[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body.
      std::string_view interim =
          message.version() >= 11 ? kContinue11 : kContinue10;  // static storage
      arm_read_timer();
      return net::async_write(stream_, net::buffer(interim.data(), interim.size()),
                              beast::bind_front_handler(&Session::on_continue, self()));
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
    head_ = message.method() == http::verb::head;

    // The request's strings and header list keep their capacity from one
    // request to the next on this connection.
    auto method = message.method_string();
    request_.method.assign(method.data(), method.size());
    auto target = message.target();
    request_.target.assign(target.data(), target.size());
    auto url = boost::urls::parse_uri_reference(request_.target);
    if (!url || request_.target.empty()) {
      server_->errors_bad.inc();
      return reject(400, "malformed request target");
    }
    boost::urls::encoding_opts decode;
    decode.space_as_plus = false;
    url->encoded_path().decode(decode, boost::urls::string_token::assign_to(request_.path));
    if (request_.path.empty()) request_.path = "/";
    auto query = url->encoded_query();
    request_.query.assign(query.data(), query.size());
    std::size_t count = 0;
    for (const auto& field : message) {
      if (count == request_.headers.size()) request_.headers.emplace_back();
      auto& [name, value] = request_.headers[count++];
      ascii_lower_assign(name, field.name_string());
      value.assign(field.value().data(), field.value().size());
    }
    request_.headers.resize(count);
    request_.body.swap(message.body());
    request_.params.clear();
    parser_.reset();

    route_ = server_->router.match(request_.method, request_.path);
    if (route_.empty()) route_ = "unmatched";

    // Called from any thread (the journal's, typically): the answer hops back
    // to this session's reactor with exactly one post.
    Responder respond = [self = self(), serial = serial_](HttpResponse response) {
      net::post(self->shard_->context, [self, serial, response = std::move(response)]() mutable {
        self->on_response(serial, std::move(response));
      });
    };
    try {
      server_->router.dispatch(request_, std::move(respond));
    } catch (const std::exception& e) {
      log::error("http handler threw", {{"route", route_}, {"error", e.what()}});
      // Posted like any answer, so one the handler gave before throwing wins.
      net::post(shard_->context, [self = self(), serial = serial_] {
        self->on_response(serial, HttpResponse::error(500, "internal error"));
      });
    }
  }

  // Runs on the session's reactor. Ignores late or repeated answers.
  void on_response(std::uint64_t serial, HttpResponse&& response) {
    if (state_ != State::handling || serial != serial_) return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (response.status < 100 || response.status > 599) response.status = 500;
    server_->observe(*shard_, route_, method_label_, response.status, seconds);
    bool keep_alive = keep_alive_ && !server_->draining;
    write(std::move(response), keep_alive, false);
  }

  // An error answered before routing; the connection closes after it.
  void reject(int status, std::string message) {
    std::string_view route = "unmatched";
    if (parser_ && parser_->is_header_done()) {
      auto& header = parser_->get();
      if (auto url = boost::urls::parse_uri_reference(header.target())) {
        route_ = server_->router.match(header.method_string(), url->path());
        if (!route_.empty()) route = route_;
      }
      method_label_ = method_label(header);
      version_ = header.version();
      head_ = header.method() == http::verb::head;
    } else {
      method_label_ = "other";
      version_ = 11;
      head_ = false;
    }
    parser_.reset();
    server_->observe(*shard_, route, method_label_, status, -1);
    write(HttpResponse::error(status, message), false, true);
  }

  // The head is serialized by hand into a buffer the session keeps, and
  // written with the body in one gather write: Beast's serializer costs more
  // than the rest of an ingest request.
  void write(HttpResponse&& response, bool keep_alive, bool linger) {
    state_ = State::writing;
    out_body_ = std::move(response.body);
    bool has_body = serialize_head(out_head_, version_, response, out_body_.size(), keep_alive);
    std::array<net::const_buffer, 2> buffers{
        net::buffer(out_head_),
        net::buffer(out_body_.data(), has_body && !head_ ? out_body_.size() : 0)};
    if constexpr (!kTls) {
      // A response usually fits in the socket's send buffer: taken at once,
      // it needs no write operation, no timer (each costs a timerfd update)
      // and no completion. What the kernel does not take now is written
      // asynchronously, under the write timeout. (The socket is non-blocking.)
      beast::error_code ec;
      std::size_t written = lowest().socket().write_some(buffers, ec);
      if (ec == net::error::would_block) {
        ec = {};
        written = 0;
      }
      if (ec || written == net::buffer_size(buffers)) {
        return on_write(!keep_alive, linger, ec, written);
      }
      for (auto& buffer : buffers) {
        std::size_t skip = std::min(written, buffer.size());
        buffer += skip;
        written -= skip;
      }
    }
    lowest().expires_after(options().read_timeout);
    net::async_write(stream_, buffers,
                     beast::bind_front_handler(&Session::on_write, self(), !keep_alive, linger));
  }

  void on_write(bool close_after, bool linger, beast::error_code ec, std::size_t) {
    if (state_ == State::closed) return;
    // Small buffers are kept for the next response; a big one (a /metrics
    // scrape) is not held by an idle connection.
    out_body_.clear();
    if (out_body_.capacity() > kKeepBufferBytes) std::string().swap(out_body_);
    if (out_head_.capacity() > kKeepBufferBytes) std::string().swap(out_head_);
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
  std::string out_head_;
  std::string out_body_;
  HttpRequest request_;
  std::string route_;
  std::string_view method_label_;  // static storage (Beast's verb names)
  unsigned version_ = 11;
  bool head_ = false;
  bool restart_timer_ = false;
  std::size_t header_scanned_ = 0;  // where read_header() looks for the end next
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
  close_acceptors(true);
  if (open == 0) finish_drain();
}

void Server::stop() {
  stopped = true;
  close_acceptors(false);
}

// Each shard's acceptor (and, when draining, its sessions) belongs to its
// reactor, so the closing is posted there.
void Server::close_acceptors(bool drain_sessions) {
  for (auto& weak : shards) {
    auto shard = weak.lock();
    if (!shard) continue;
    auto& context = shard->context;
    // The shard moves into the handler: it must be released on its reactor.
    net::post(context, [shard = std::move(shard), drain_sessions] {
      beast::error_code ignored;
      shard->acceptor->close(ignored);
      shard->retry_timer->cancel();
      if (!drain_sessions) return;
      // drain() may close a session, which unlinks it from the list.
      std::vector<std::shared_ptr<SessionBase>> live;
      for (auto& session : shard->sessions) {
        if (auto alive = session.lock()) live.push_back(std::move(alive));
      }
      for (auto& session : live)
        session->drain();
    });
  }
}

void Server::observe(Shard& shard, std::string_view route, std::string_view method, int status,
                     double seconds) {
  auto counter = shard.request_counters.find(SeriesKeyView{route, method, status});
  if (counter == shard.request_counters.end()) {
    std::string status_text = std::to_string(status);
    Counter& c = metrics().counter(
        "hookd_http_requests_total", "HTTP requests answered",
        {{"route", std::string(route)}, {"method", std::string(method)}, {"status", status_text}});
    counter = shard.request_counters
                  .emplace(SeriesKey{std::string(route), std::string(method), status}, &c)
                  .first;
  }
  counter->second->inc();
  if (seconds < 0) return;
  auto histogram = shard.durations.find(route);
  if (histogram == shard.durations.end()) {
    Histogram& h = metrics().histogram("hookd_http_request_duration_seconds",
                                       "Time from a complete request to its response",
                                       latency_buckets_seconds(), {{"route", std::string(route)}});
    histogram = shard.durations.emplace(std::string(route), &h).first;
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
