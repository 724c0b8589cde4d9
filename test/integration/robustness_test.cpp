// Robustness of the real daemon against broken and hostile clients: malformed
// HTTP, malformed JSON, a seeded mutation fuzz loop and garbage signature
// headers. The product rule under test: bad input never crashes hookd and
// never loses an accepted event; it gets a clear 4xx JSON error.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"
#include "support/support.h"

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using namespace hookd::test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// SplitMix64: the same sequence with every compiler and standard library
// (std::uniform_int_distribution is not), so a failing seed replays anywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  char byte() { return static_cast<char>(next() & 0xFF); }

 private:
  std::uint64_t state_;
};

// Raw bytes as an escaped literal, cut at `max`, for failure messages.
std::string printable(std::string_view bytes, std::size_t max = 300) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (bytes.size() > max) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

// A plain TCP connection for what HttpConnection does not do: half-close,
// abortive close (RST), and reading every byte until the daemon closes.
class RawSocket {
 public:
  explicit RawSocket(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    // A daemon that stopped reading must fail the test, not hang it.
    timeval timeout{15, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) close();
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }

  // False once the daemon stops reading (it may answer early and close).
  bool send_all(std::string_view bytes) {
    while (fd_ >= 0 && !bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return bytes.empty();
  }

  void shutdown_send() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }

  // Every byte until the daemon closes. `timed_out`: nothing arrived and
  // nothing closed for `timeout`.
  std::string read_until_close(std::chrono::milliseconds timeout, bool& timed_out) {
    std::string out;
    timed_out = false;
    char buffer[16384];
    while (fd_ >= 0) {
      pollfd waiting{fd_, POLLIN, 0};
      int ready = ::poll(&waiting, 1, static_cast<int>(timeout.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        timed_out = true;
        break;
      }
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // closed, or reset after the answer
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

  // Closes with a TCP reset instead of a FIN.
  void reset() {
    if (fd_ < 0) return;
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
    close();
  }

  void close() {
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Splits what the daemon sent into responses; `complete` is false when bytes
// are left over that are not a whole response.
std::vector<Reply> parse_replies(std::string_view bytes, bool& complete) {
  std::vector<Reply> replies;
  complete = true;
  while (!bytes.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    parser.body_limit(64ull << 20);
    parser.header_limit(1u << 20);
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || !parser.is_done()) {
      complete = false;
      break;
    }
    bytes.remove_prefix(used);
    Reply reply;
    auto& message = parser.get();
    reply.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    reply.body = message.body();
    replies.push_back(std::move(reply));
  }
  return replies;
}

struct Exchange {
  bool connected = false;
  bool timed_out = false;  // the daemon neither answered in full nor closed
  bool complete = true;    // every byte received belongs to a whole response
  std::vector<Reply> replies;
  std::string raw;
};

// Sends `request` on a fresh connection and half-closes it, so the daemon
// sees the end of the input at once instead of waiting for its read timeout,
// then collects every response until the daemon closes.
Exchange roundtrip(unsigned short port, std::string_view request) {
  Exchange out;
  RawSocket socket(port);
  out.connected = socket.connected();
  if (!out.connected) return out;
  socket.send_all(request);
  socket.shutdown_send();
  out.raw = socket.read_until_close(15s, out.timed_out);
  out.replies = parse_replies(out.raw, out.complete);
  return out;
}

// Empty when the body is a clear error: JSON, {"error": "<something>"}.
std::string error_body_problem(const Reply& reply) {
  auto type = reply.headers.find("content-type");
  if (type == reply.headers.end() || type->second.rfind("application/json", 0) != 0) {
    return "content-type is not application/json: " + printable(reply.body);
  }
  boost::system::error_code ec;
  json::value body = json::parse(reply.body, ec);
  if (ec) return "body is not JSON (" + ec.message() + "): " + printable(reply.body);
  const json::object* object = body.if_object();
  const json::value* error = object ? object->if_contains("error") : nullptr;
  if (!error || !error->is_string() || error->get_string().empty()) {
    return "body has no \"error\" string: " + printable(reply.body);
  }
  return {};
}

// Empty when `reply` is the documented answer to bad input: `status` (any
// 4xx when 0) with a JSON error body. Written for CHECK(... == "").
std::string client_error_problem(const Reply& reply, int status = 0) {
  bool status_ok =
      status == 0 ? reply.status >= 400 && reply.status <= 499 : reply.status == status;
  if (!status_ok) {
    return "status " + std::to_string(reply.status) +
           (status == 0 ? std::string(" is not 4xx") : " instead of " + std::to_string(status)) +
           ": " + printable(reply.body);
  }
  return error_body_problem(reply);
}

std::string event_json(const std::string& id, const std::string& type = "session.open") {
  return R"({"id":")" + id + R"(","type":")" + type + R"(","payload":{"sid":")" + id + R"("}})";
}

// The start of a POST /v1/events up to and including the blank line.
std::string post_head(const std::string& extra_headers) {
  return "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "\r\n";
}

std::string post_request(const std::string& body) {
  return post_head("Content-Length: " + std::to_string(body.size()) + "\r\n") + body;
}

std::string chunked_post(const std::string& body, std::size_t piece) {
  std::string out = post_head("Transfer-Encoding: chunked\r\n");
  for (std::size_t at = 0; at < body.size(); at += piece) {
    std::string part = body.substr(at, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size + part + "\r\n";
  }
  return out + "0\r\n\r\n";
}

std::string get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

// A read of a stored event, with the read token.
std::string authorized_get_request(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
         hookd::test::kReadToken + "\r\n\r\n";
}

// hookd_http_open_connections as the daemon reports it (the asking
// connection included), or -1 when it cannot be read.
double open_connections(unsigned short port) {
  Reply reply = http(port, "GET", "/metrics");
  static const std::regex line(R"((^|\n)hookd_http_open_connections (\S+))");
  std::smatch match;
  if (reply.status != 200 || !std::regex_search(reply.body, match, line)) return -1;
  return std::stod(match[2].str());
}

// json::parse with room for the nesting the daemon accepts (64 levels).
json::value deep_parse(std::string_view text) {
  json::parse_options options;
  options.max_depth = 128;
  return json::parse(json::string_view(text.data(), text.size()), {}, options);
}

std::vector<std::string> ids_of(const Reply& reply) {
  std::vector<std::string> ids;
  boost::system::error_code ec;
  json::value body = json::parse(reply.body, ec);
  if (ec || !body.is_object() || !body.as_object().if_contains("ids")) return ids;
  const json::value& list = body.at("ids");
  if (!list.is_array()) return ids;
  for (const auto& id : list.as_array()) {
    if (id.is_string()) ids.emplace_back(id.get_string());
  }
  return ids;
}

// Every daemon here also takes the read token: reading events back needs it.
DaemonOptions with_flags(std::vector<std::string> args = {}, std::vector<std::string> env = {}) {
  DaemonOptions options;
  options.args = std::move(args);
  for (auto& flag : hookd::test::read_token_flags())
    options.args.push_back(flag);
  options.env = std::move(env);
  return options;
}

std::string header_of(const Reply& reply, const std::string& name) {
  auto found = reply.headers.find(name);
  return found == reply.headers.end() ? std::string() : found->second;
}

// The process is up and answers its probe.
void check_alive(Daemon& daemon) {
  CHECK(daemon.running());
  CHECK(http(daemon.port(), "GET", "/healthz").status == 200);
}

// A valid event is still accepted and can be read back.
void check_still_accepts(Daemon& daemon, const std::string& id) {
  Reply accepted = post_json(daemon.port(), "/v1/events", event_json(id));
  CHECK(accepted.status == 202);
  CHECK(ids_of(accepted) == std::vector<std::string>{id});
  Reply stored = authorized_get(daemon.port(), "/v1/events/" + id);
  REQUIRE(stored.status == 200);
  CHECK(json::parse(stored.body).at("payload").at("sid") == id.c_str());
}

// Ids that cannot be read back, each as "id -> status".
std::vector<std::string> missing_ids(unsigned short port, const std::vector<std::string>& ids) {
  std::vector<std::string> missing;
  HttpConnection connection(port);
  for (const auto& id : ids) {
    Reply reply = connection.request("GET", "/v1/events/" + id, "", hookd::test::read_auth());
    if (reply.status != 200) missing.push_back(id + " -> " + std::to_string(reply.status));
  }
  return missing;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 0);
}

std::size_t error_log_lines(const Daemon& daemon) {
  std::string log = daemon.log();
  std::size_t count = 0;
  for (std::size_t at = log.find("\"level\":\"error\""); at != std::string::npos;
       at = log.find("\"level\":\"error\"", at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("malformed HTTP gets a 4xx JSON error and the connection is closed",
          "[robustness][integration]") {
  Daemon daemon(with_flags({"--read-timeout", "5s"}));
  unsigned short port = daemon.port();
  const std::string body = event_json("rb-never-stored");
  const std::string tls_client_hello = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"s +
                                       std::string(32, '\x5a') + "\x00\x00\x02\x13\x01"s;
  const std::string h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"s +
                                 "\x00\x00\x00\x04\x00\x00\x00\x00\x00"s;  // empty SETTINGS

  struct Case {
    std::string name;
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"garbage request line", "HELLO WORLD\r\n\r\n", 400},
      {"binary garbage (a TLS ClientHello)", tls_client_hello, 400},
      {"a lone CRLF", "\r\n", 400},
      {"HTTP/0.9 request", "GET /healthz\r\n\r\n", 400},
      {"HTTP/2 connection preface", h2_preface, 400},
      {"unknown HTTP version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"non-token byte in the method", "G\xffT /healthz HTTP/1.1\r\n\r\n", 400},
      {"NUL in the method", "GE\0T /healthz HTTP/1.1\r\n\r\n"s, 400},
      {"NUL in the target", "GET /heal\0thz HTTP/1.1\r\n\r\n"s, 400},
      {"space in the target", "GET /heal thz HTTP/1.1\r\n\r\n", 400},
      {"empty target", "GET  HTTP/1.1\r\n\r\n", 400},
      {"NUL in a header value", "GET /healthz HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s, 400},
      {"NUL in a header name", "GET /healthz HTTP/1.1\r\nX\0A: b\r\n\r\n"s, 400},
      {"space in a header name", "GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n", 400},
      {"space before the colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"empty header name", "GET /healthz HTTP/1.1\r\n: x\r\n\r\n", 400},
      {"header line without a colon", "GET /healthz HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"control byte in a header name", "GET /healthz HTTP/1.1\r\nX\x01Y: z\r\n\r\n", 400},
      {"non-ASCII header name", "GET /healthz HTTP/1.1\r\nX-\xc3\xa9: z\r\n\r\n", 400},
      {"two different Content-Lengths",
       post_head("Content-Length: 2\r\nContent-Length: 3\r\n") + "{}", 400},
      {"negative Content-Length", post_head("Content-Length: -1\r\n") + "{}", 400},
      {"Content-Length with a sign", post_head("Content-Length: +2\r\n") + "{}", 400},
      {"hexadecimal Content-Length", post_head("Content-Length: 0x2\r\n") + "{}", 400},
      {"non-numeric Content-Length", post_head("Content-Length: two\r\n") + "{}", 400},
      {"Content-Length beyond 64 bits",
       post_head("Content-Length: 99999999999999999999999\r\n") + "{}", 400},
      {"Content-Length over the body limit", post_head("Content-Length: 1000000000000\r\n") + body,
       413},
      {"Content-Length over the limit with Expect: 100-continue",
       post_head("Expect: 100-continue\r\nContent-Length: 99999999\r\n"), 413},
      {"Content-Length and chunked together",
       post_head("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n") + "2\r\n{}\r\n0\r\n\r\n",
       400},
      {"chunk size that is not hex",
       post_head("Transfer-Encoding: chunked\r\n") + "zz\r\n{}\r\n0\r\n\r\n", 400},
      {"negative chunk size", post_head("Transfer-Encoding: chunked\r\n") + "-2\r\n{}\r\n0\r\n\r\n",
       400},
      {"chunk size beyond 64 bits",
       post_head("Transfer-Encoding: chunked\r\n") + "ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
       400},
      {"chunk over the body limit", post_head("Transfer-Encoding: chunked\r\n") + "200000\r\n{}",
       413},
      {"chunk shorter than its size, then end of input",
       post_head("Transfer-Encoding: chunked\r\n") + "100\r\n{}", 400},
      {"chunked body without the last chunk",
       post_head("Transfer-Encoding: chunked\r\n") + "2\r\n{}\r\n", 400},
      {"chunk without its CRLF", post_head("Transfer-Encoding: chunked\r\n") + "2\r\n{}XX0\r\n\r\n",
       400},
      {"header block cut off by the end of input", "GET /healthz HTTP/1.1\r\nHost: x", 400},
      {"body shorter than Content-Length, then end of input",
       post_head("Content-Length: 1000\r\n") + body, 400},
      {"request line of 100 KB", get_request("/" + std::string(100 << 10, 'a')), 431},
      {"method of 100 KB", std::string(100 << 10, 'A') + " / HTTP/1.1\r\n\r\n", 431},
      {"header of 1 MB",
       "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'b') + "\r\n\r\n", 431},
      {"header of 1 MB that never ends",
       "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'b'), 431},
      {"header name of 20 KB",
       "GET /healthz HTTP/1.1\r\n" + std::string(20 << 10, 'N') + ": v\r\n\r\n", 431},
  };

  for (const auto& c : cases) {
    INFO(c.name << ": " << printable(c.request, 160));
    Exchange result = roundtrip(port, c.request);
    REQUIRE(result.connected);
    CHECK_FALSE(result.timed_out);
    CHECK(result.complete);
    REQUIRE(!result.replies.empty());
    const Reply& reply = result.replies.front();
    CHECK(client_error_problem(reply, c.status) == "");
    // The stream cannot be trusted after a framing error: the daemon says
    // so and reads nothing after it as another request.
    CHECK(header_of(reply, "connection") == "close");
    CHECK(result.replies.size() == 1);
  }
  CHECK(authorized_get(port, "/v1/events/rb-never-stored").status == 404);

  // The same oversized requests over a connection the client keeps open:
  // the answer must arrive while the client is still sending or waiting.
  for (const std::string& request :
       {get_request("/" + std::string(100 << 10, 'a')),
        "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'b') + "\r\n\r\n"}) {
    HttpConnection connection(port);
    connection.write_raw(request);
    Reply reply = connection.read_reply();
    CHECK(client_error_problem(reply, 431) == "");
    CHECK_FALSE(connection.is_open());
  }

  check_alive(daemon);
  check_still_accepts(daemon, "rb-http-after");
  CHECK(error_log_lines(daemon) == 0);
}

TEST_CASE("connections: close, pipelining, clients that vanish, churn",
          "[robustness][integration]") {
  Daemon daemon(with_flags({"--read-timeout", "1s"}));
  unsigned short port = daemon.port();

  // Connection: close is honoured: the answer says so, and a request
  // pipelined behind it is not read.
  {
    HttpConnection connection(port);
    connection.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
                         get_request("/healthz"));
    Reply first = connection.read_reply();
    CHECK(first.status == 200);
    CHECK(first.headers["connection"] == "close");
    CHECK_FALSE(connection.is_open());
    CHECK(connection.read_reply().status == 0);
  }

  // HTTP/1.0 without keep-alive: answered in kind, then closed.
  {
    Exchange result = roundtrip(port, "GET /healthz HTTP/1.0\r\n\r\n");
    CHECK_FALSE(result.timed_out);
    REQUIRE(result.replies.size() == 1);
    CHECK(result.replies[0].status == 200);
  }

  // An HTTP/2 upgrade request is answered over HTTP/1.1 and not upgraded.
  {
    Exchange result =
        roundtrip(port,
                  "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                  "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA"
                  "\r\n\r\n");
    REQUIRE(result.replies.size() == 1);
    CHECK(result.replies[0].status == 200);
  }

  // A 400 from the handler keeps a keep-alive connection; pipelined
  // requests are answered in order.
  {
    HttpConnection connection(port);
    connection.write_raw(post_request("{nope") + get_request("/healthz") +
                         post_request(event_json("rb-pipelined")) +
                         authorized_get_request("/v1/events/rb-pipelined"));
    CHECK(client_error_problem(connection.read_reply(), 400) == "");
    CHECK(connection.is_open());
    CHECK(connection.read_reply().status == 200);
    CHECK(connection.read_reply().status == 202);
    CHECK(connection.read_reply().status == 200);
    CHECK(connection.is_open());
  }

  // Clients that vanish mid-header, mid-body, or after Expect: 100-continue,
  // by FIN or by RST.
  const std::string partial_event = R"({"id":"rb-half","type":"session.open","payload":{"x":")";
  const std::vector<std::string> vanishing = {
      "GET /healt",
      "GET /healthz HTTP/1.1\r\nHost: x\r\n",
      post_head("Content-Length: 1000\r\n") + partial_event,
      post_head("Transfer-Encoding: chunked\r\n") + "400\r\n" + partial_event,
      post_head("Expect: 100-continue\r\nContent-Length: 1000\r\n"),
  };
  for (std::size_t i = 0; i < 40; ++i) {
    RawSocket socket(port);
    REQUIRE(socket.connected());
    socket.send_all(vanishing[i % vanishing.size()]);
    if (i % 2 == 0) {
      socket.reset();
    } else {
      socket.close();
    }
  }
  CHECK(authorized_get(port, "/v1/events/rb-half").status == 404);

  // Many connections open at once, then dropped: silent ones, half
  // requests, and whole requests whose answers are never read.
  {
    std::vector<std::unique_ptr<RawSocket>> sockets;
    for (std::size_t i = 0; i < 200; ++i) {
      auto socket = std::make_unique<RawSocket>(port);
      CHECK(socket->connected());
      if (i % 4 == 1) socket->send_all("GET /hea");
      if (i % 4 == 2) socket->send_all(post_head("Content-Length: 500\r\n") + partial_event);
      if (i % 4 == 3) socket->send_all(get_request("/metrics") + get_request("/readyz"));
      sockets.push_back(std::move(socket));
    }
    for (std::size_t i = 0; i < sockets.size(); ++i) {
      if (i % 3 == 0) {
        sockets[i]->reset();
      } else {
        sockets[i]->close();
      }
    }
  }
  // Every one of them is let go of (the one asking is the only one left).
  CHECK(wait_until([&] { return open_connections(port) == 1; }));

  // A client that starts a request and goes silent is cut off by the read
  // timeout rather than held forever.
  {
    RawSocket socket(port);
    REQUIRE(socket.connected());
    socket.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    bool timed_out = false;
    socket.read_until_close(20s, timed_out);
    CHECK_FALSE(timed_out);
  }

  check_alive(daemon);
  check_still_accepts(daemon, "rb-connections-after");
  CHECK(error_log_lines(daemon) == 0);
}

TEST_CASE("malformed JSON bodies on POST /v1/events get 400 with a JSON error",
          "[robustness][integration]") {
  Daemon daemon(with_flags());
  unsigned short port = daemon.port();

  auto with_payload = [](const std::string& payload) {
    return R"({"type":"session.open","payload":)" + payload + "}";
  };
  auto with_id = [](const std::string& id) {
    return R"({"type":"session.open","id":)" + id + R"(,"payload":{}})";
  };
  auto with_type = [](const std::string& type) {
    return R"({"type":)" + type + R"(,"payload":{}})";
  };
  const std::string valid = R"({"type":"session.open","payload":{}})";
  std::string deep_object;
  for (int i = 0; i < 10000; ++i)
    deep_object += R"({"a":)";
  deep_object += "1" + std::string(10000, '}');
  const std::string deep_array = std::string(10000, '[') + std::string(10000, ']');
  std::string events_10001 = "[";
  for (int i = 0; i < 10001; ++i)
    events_10001 += (i ? "," : "") + valid;
  events_10001 += "]";

  struct Case {
    std::string name;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"truncated object", R"({"type":"session.open","payload":{"sid":)"},
      {"truncated string", R"({"type":"session.op)"},
      {"truncated array of events", "[" + valid + ","},
      {"invalid UTF-8 in a string", with_payload("{\"x\":\"\xff\xfe\"}")},
      {"invalid UTF-8 in a key", with_payload("{\"\xc3\x28\":1}")},
      {"overlong UTF-8 encoding", with_payload("{\"x\":\"\xc0\xaf\"}")},
      {"UTF-8 encoded surrogate", with_payload("{\"x\":\"\xed\xa0\x80\"}")},
      {"UTF-8 sequence cut short", with_payload("{\"x\":\"\xe2\x82\"}")},
      {"invalid UTF-8 in the type", with_type("\"session\xff.open\"")},
      {"invalid UTF-8 in the id", with_id("\"evt\xfe\"")},
      {"10,000-deep array nesting in the payload", with_payload("{\"x\":" + deep_array + "}")},
      {"10,000-deep object nesting in the payload", with_payload(deep_object)},
      {"10,000-deep nesting of the body", deep_array},
      {"10,000 unclosed brackets", std::string(10000, '[')},
      {"1e999", with_payload(R"({"x":1e999})")},
      {"-1e999", with_payload(R"({"x":-1e999})")},
      {"1e999 inside an array", with_payload(R"({"x":[1,2,1e999]})")},
      {"lone leading surrogate", with_payload(R"({"x":"\ud800"})")},
      {"lone trailing surrogate", with_payload(R"({"x":"\udc00"})")},
      {"leading surrogate before a non-surrogate", with_payload(R"({"x":"\ud800\u0041"})")},
      {"lone surrogate in a key", with_payload(R"({"\ud800":1})")},
      {"lone surrogate in the id", with_id(R"("\ud800")")},
      {"byte order mark", "\xef\xbb\xbf" + valid},
      {"empty body", ""},
      {"whitespace only", " \r\n\t "},
      {"null", "null"},
      {"true", "true"},
      {"a number", "42"},
      {"a string", R"("session.open")"},
      {"empty array", "[]"},
      {"array of 10001 events", events_10001},
      {"array holding a number", "[" + valid + ",1]"},
      {"array of arrays", "[[" + valid + "]]"},
      {"two events with the same id",
       "[" + with_id(R"("rb-twice")") + "," + with_id(R"("rb-twice")") + "]"},
      {"trailing garbage", valid + "x"},
      {"two objects", valid + valid},
      {"NUL after the object", valid + "\0"s},
      {"raw control character in a string", with_payload("{\"x\":\"a\x01z\"}")},
      {"NaN", with_payload(R"({"x":NaN})")},
      {"Infinity", with_payload(R"({"x":Infinity})")},
      {"comment", R"({"type":"session.open",/* c */"payload":{}})"},
      {"single quotes", "{'type':'session.open','payload':{}}"},
      {"trailing comma", R"({"type":"session.open","payload":{},})"},
      {"id containing /", with_id(R"("a/b")")},
      {"id ../../etc/passwd", with_id(R"("../../etc/passwd")")},
      {"id with unicode", with_id("\"\xc3\xa9v\xc3\xa9nement\"")},
      {"id with an escaped NUL", with_id(R"("a\u0000b")")},
      {"id with a space", with_id(R"("a b")")},
      {"id of 129 characters", with_id("\"" + std::string(129, 'a') + "\"")},
      {"empty id", with_id(R"("")")},
      {"id is a number", with_id("7")},
      {"id is an object", with_id("{}")},
      {"type \"\"", with_type(R"("")")},
      {"type \".\"", with_type(R"(".")")},
      {"type \"a..b\"", with_type(R"("a..b")")},
      {"type \"../../etc/passwd\"", with_type(R"("../../etc/passwd")")},
      {"type with a trailing dot", with_type(R"("session.")")},
      {"type with a slash", with_type(R"("session/open")")},
      {"type with an escaped NUL", with_type(R"("session\u0000open")")},
      {"type of 129 characters", with_type("\"" + std::string(129, 't') + "\"")},
      {"type null", with_type("null")},
      {"type missing", R"({"payload":{}})"},
      {"payload missing", R"({"type":"session.open"})"},
      {"payload null", with_payload("null")},
      {"payload an array", with_payload("[]")},
      {"payload a string", with_payload(R"("{}")")},
      {"payload a number", with_payload("1")},
      {"timestamp not RFC 3339", R"({"type":"a.b","timestamp":"yesterday","payload":{}})"},
      {"timestamp a number", R"({"type":"a.b","timestamp":1700000000,"payload":{}})"},
      {"timestamp with month 13",
       R"({"type":"a.b","timestamp":"2026-13-01T00:00:00Z","payload":{}})"},
  };

  std::optional<HttpConnection> connection(std::in_place, port);
  for (const auto& c : cases) {
    INFO(c.name << ": " << printable(c.body, 160));
    Reply reply =
        connection->request("POST", "/v1/events", c.body, {{"Content-Type", "application/json"}});
    CHECK(client_error_problem(reply, 400) == "");
    // A bad body is the handler's business: the connection stays usable.
    CHECK(connection->is_open());
    if (!connection->is_open()) connection.emplace(port);
  }
  CHECK(authorized_get(port, "/v1/events/rb-twice").status == 404);

  // Odd but valid input is accepted and stored as sent (same JSON value).
  struct Valid {
    std::string name;
    std::string id;
    std::string payload;
  };
  const std::vector<Valid> odd = {
      {"-0", "rb-minus-zero", R"({"x":-0})"},
      {"-0.0", "rb-minus-zero-double", R"({"x":-0.0})"},
      {"1e-999 (underflows to 0)", "rb-underflow", R"({"x":1e-999})"},
      {"2^64-1", "rb-uint64-max", R"({"x":18446744073709551615})"},
      {"-2^63", "rb-int64-min", R"({"x":-9223372036854775808})"},
      {"escaped and raw astral characters", "rb-unicode",
       "{\"x\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9 \xf0\x9f\x98\x80\",\"\xe2\x82\xac\":1}"},
      {"nesting just under the limit", "rb-deep-ok",
       "{\"x\":" + std::string(60, '[') + std::string(60, ']') + "}"},
      {"id of 128 characters", std::string(128, 'i'), "{}"},
      {"id with every allowed punctuation", "a_b.c:d-e", "{}"},
  };
  for (const auto& v : odd) {
    INFO(v.name);
    std::string body =
        R"({"type":"session.open","id":")" + v.id + R"(","payload":)" + v.payload + "}";
    Reply reply =
        connection->request("POST", "/v1/events", body, {{"Content-Type", "application/json"}});
    CHECK(reply.status == 202);
    CHECK(ids_of(reply) == std::vector<std::string>{v.id});
    // Sent as is: the test client does not normalise "/v1/events/..".
    Reply stored = connection->request("GET", "/v1/events/" + v.id, "", hookd::test::read_auth());
    REQUIRE(stored.status == 200);
    CHECK(deep_parse(stored.body).at("payload") == deep_parse(v.payload));
  }

  // Ids made only of dots are path segments clients normalise away.
  for (std::string dots : {".", ".."}) {
    std::string body = R"({"type":"session.open","id":")" + dots + R"(","payload":{}})";
    CHECK(connection->request("POST", "/v1/events", body, {{"Content-Type", "application/json"}})
              .status == 400);
  }

  // The most events one request may hold.
  std::string events_10000 = "[";
  for (int i = 0; i < 10000; ++i)
    events_10000 += (i ? "," : "") + valid;
  events_10000 += "]";
  Reply batch = post_json(port, "/v1/events", events_10000);
  CHECK(batch.status == 202);
  std::vector<std::string> batch_ids = ids_of(batch);
  REQUIRE(batch_ids.size() == 10000);
  CHECK(authorized_get(port, "/v1/events/" + batch_ids.back()).status == 200);

  check_alive(daemon);
  check_still_accepts(daemon, "rb-json-after");
  CHECK(error_log_lines(daemon) == 0);
}

TEST_CASE("a seeded mutation fuzz loop never gets a 5xx, a hang or a crash",
          "[robustness][integration][fuzz]") {
  Daemon daemon(with_flags({"--read-timeout", "3s", "--max-body-bytes", "256KiB"}));
  unsigned short port = daemon.port();
  // HOOKD_FUZZ_SEED and HOOKD_FUZZ_SCALE (a multiplier) are for longer runs
  // by hand, e.g. under sanitizers; the defaults keep the suite quick.
  const std::uint64_t seed = env_number("HOOKD_FUZZ_SEED", 0x686f6f6b64);  // "hookd"
  const std::uint64_t scale = std::max<std::uint64_t>(1, env_number("HOOKD_FUZZ_SCALE", 1));
  Rng rng(seed);

  const std::vector<std::string> bodies = {
      fixture("session-open.event.json"), fixture("session-close.event.json"),
      fixture("events-batch.json"), event_json("rb-fuzz-seed"),
      R"([{"type":"a.b","payload":{"n":[1,-0,1e5,"\u00e9\ud83d\ude00"]}}])"};
  std::vector<std::string> requests;
  for (const auto& body : bodies) {
    requests.push_back(post_request(body));
    requests.push_back(chunked_post(body, 37));
  }
  requests.push_back(authorized_get_request("/v1/events/evt_01JD8Z6T9V7Q2M4K8R3N5P1X0A"));
  requests.push_back(get_request("/healthz"));
  requests.push_back(get_request("/readyz?verbose=1"));
  requests.push_back(post_head("Content-Length: 27\r\nwebhook-id: msg_1\r\nwebhook-timestamp: "
                               "1614265330\r\nwebhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uF"
                               "JELVlNIOLJ1OE=\r\nExpect: 100-continue\r\n") +
                     R"({"type":"a.b","payload":{}})");

  const std::vector<std::string> tokens = {"\r\n",
                                           "\r\n\r\n",
                                           "\0"s,
                                           "\xff\xfe",
                                           "\\u0000",
                                           "\\ud800",
                                           "99999999999999999999999",
                                           "-1",
                                           "1e999",
                                           "[[[[[[",
                                           "}}}}",
                                           "\"",
                                           ",",
                                           ":",
                                           "\\",
                                           " ",
                                           "\t",
                                           "/../",
                                           "ffffffff\r\n",
                                           "0\r\n\r\n",
                                           "Content-Length: 5\r\n",
                                           "Transfer-Encoding: chunked\r\n",
                                           "Expect: 100-continue\r\n",
                                           "Connection: close\r\n",
                                           " HTTP/1.1",
                                           "\xc0\xaf",
                                           "\xed\xa0\x80"};
  const std::string interesting_bytes = "\0\r\n :\"{}[]\\\x7f\x80\xff%09Aa"s;

  // One to four random edits: bit flips, byte changes, truncation, inserted
  // tokens or random bytes, deleted and duplicated ranges.
  auto mutate = [&](std::string bytes) {
    std::size_t edits = 1 + rng.below(4);
    for (std::size_t e = 0; e < edits && !bytes.empty(); ++e) {
      std::size_t at = rng.below(bytes.size());
      switch (rng.below(8)) {
        case 0:
          bytes[at] = static_cast<char>(bytes[at] ^ (1 << rng.below(8)));
          break;
        case 1:
          bytes[at] = rng.byte();
          break;
        case 2:
          bytes[at] = interesting_bytes[rng.below(interesting_bytes.size())];
          break;
        case 3:
          bytes.resize(std::max<std::size_t>(1, at));
          break;
        case 4:
          bytes.insert(at, tokens[rng.below(tokens.size())]);
          break;
        case 5:
          bytes.erase(at, 1 + rng.below(32));
          break;
        case 6:
          bytes.insert(at, bytes.substr(at, 1 + rng.below(64)));
          break;
        default:
          for (std::size_t n = 1 + rng.below(16); n > 0; --n)
            bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), rng.byte());
          break;
      }
    }
    if (bytes.empty()) bytes = "\r\n";
    return bytes;
  };

  std::vector<std::string> failures;
  std::vector<std::string> accepted;
  auto fail = [&](std::size_t iteration, const std::string& what, std::string_view input) {
    failures.push_back("#" + std::to_string(iteration) + " " + what + " <- " + printable(input));
  };
  auto collect_ids = [&](const Reply& reply) {
    if (reply.status != 200 && reply.status != 202) return;
    for (auto& id : ids_of(reply))
      accepted.push_back(std::move(id));
  };

  // Whole requests mutated, each on a fresh connection that is half-closed
  // after sending, so every exchange ends at once with an answer.
  const std::size_t kFresh = 1200 * scale;
  for (std::size_t i = 0; i < kFresh; ++i) {
    std::string input = mutate(requests[rng.below(requests.size())]);
    Exchange result = roundtrip(port, input);
    if (!result.connected) {
      fail(i, "connect failed", input);
      break;  // the daemon is gone; the checks below say so
    }
    if (result.timed_out) fail(i, "no answer and no close", input);
    bool final_reply = false;
    for (const Reply& reply : result.replies) {
      if (reply.status >= 200) final_reply = true;
      if (reply.status >= 500) fail(i, "status " + std::to_string(reply.status), input);
      if (reply.status >= 400) {
        if (std::string problem = error_body_problem(reply); !problem.empty()) {
          fail(i, problem, input);
        }
      }
      collect_ids(reply);
    }
    if (!final_reply) fail(i, "closed without a response: " + printable(result.raw), input);
  }

  // Mutated JSON bodies with correct framing over keep-alive connections,
  // one at a time and pipelined three deep: a bad body is a 400 and the
  // connection stays open.
  const std::size_t kKeepAlive = 800 * scale;
  std::optional<HttpConnection> connection(std::in_place, port);
  auto check_body_reply = [&](std::size_t i, const Reply& reply, const std::string& body) {
    if (reply.status != 200 && reply.status != 202 && reply.status != 400) {
      fail(i, "keep-alive status " + std::to_string(reply.status), body);
    }
    if (reply.status == 400) {
      if (std::string problem = error_body_problem(reply); !problem.empty()) fail(i, problem, body);
    }
    collect_ids(reply);
  };
  for (std::size_t i = 0; i < kKeepAlive;) {
    if (i % 10 == 9) {
      std::vector<std::string> pipelined;
      std::string wire;
      for (int k = 0; k < 3; ++k) {
        pipelined.push_back(mutate(bodies[rng.below(bodies.size())]));
        wire += post_request(pipelined.back());
      }
      connection->write_raw(wire);
      for (const auto& body : pipelined)
        check_body_reply(kFresh + i++, connection->read_reply(), body);
    } else {
      std::string body = mutate(bodies[rng.below(bodies.size())]);
      check_body_reply(
          kFresh + i++,
          connection->request("POST", "/v1/events", body, {{"Content-Type", "application/json"}}),
          body);
    }
    if (!connection->is_open()) {
      fail(kFresh + i, "keep-alive connection closed", "");
      connection.emplace(port);
    }
  }
  connection.reset();

  INFO("seed " << seed << ", " << failures.size()
               << " failures; first: " << (failures.empty() ? std::string() : failures.front()));
  INFO("second: " << (failures.size() > 1 ? failures[1] : std::string()));
  CHECK(failures.empty());

  check_alive(daemon);
  check_still_accepts(daemon, "rb-fuzz-after");
  CHECK(error_log_lines(daemon) == 0);

  // Whatever the fuzz got accepted is stored, before and after a restart.
  INFO(accepted.size() << " events accepted during the fuzz");
  CHECK(missing_ids(port, accepted).empty());
  CHECK(daemon.terminate() == 0);
  daemon.restart();
  std::vector<std::string> missing = missing_ids(daemon.port(), accepted);
  INFO("first missing after restart: " << (missing.empty() ? std::string() : missing.front()));
  CHECK(missing.empty());
}

TEST_CASE("garbage webhook headers get 401 with a JSON error when a secret is set",
          "[robustness][integration]") {
  auto vector = json::parse(fixture("standard-webhooks-vector.json"));
  std::string secret_text(vector.at("secret").as_string());
  auto secret = hookd::WebhookSecret::parse(secret_text);
  REQUIRE(secret.ok());
  // Headers up to 64 KiB (the most Beast's fields can hold, see the
  // finding below), so that huge values reach the signature check.
  Daemon daemon(
      with_flags({"--max-header-bytes", "60KiB"}, {"HOOKD_INBOUND_SECRET=" + secret_text}));
  unsigned short port = daemon.port();
  const std::int64_t now = hookd::now_unix_ms() / 1000;
  const std::string now_text = std::to_string(now);
  const std::string body = R"({"type":"session.open","payload":{"sid":"signed"}})";
  const std::string good = secret->sign("msg_good", now, body);
  std::string many;
  for (int i = 0; i < 1000; ++i)
    many += (i ? " " : "") + std::string("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");

  using Headers = std::vector<std::pair<std::string, std::string>>;
  auto webhook = [](std::string id, std::string timestamp, std::string signature) {
    return Headers{{"webhook-id", std::move(id)},
                   {"webhook-timestamp", std::move(timestamp)},
                   {"webhook-signature", std::move(signature)}};
  };
  struct Case {
    std::string name;
    Headers headers;
  };
  const std::vector<Case> cases = {
      {"no headers", {}},
      {"only webhook-id", {{"webhook-id", "msg_1"}}},
      {"timestamp of 400 digits", webhook("msg_1", std::string(400, '9'), good)},
      {"timestamp INT64_MAX", webhook("msg_1", "9223372036854775807", good)},
      {"timestamp INT64_MAX + 1", webhook("msg_1", "9223372036854775808", good)},
      {"negative timestamp", webhook("msg_1", "-1", good)},
      {"timestamp INT64_MIN", webhook("msg_1", "-9223372036854775808", good)},
      {"timestamp zero", webhook("msg_1", "0", good)},
      {"non-numeric timestamp", webhook("msg_1", "yesterday", good)},
      {"fractional timestamp", webhook("msg_1", now_text + ".5", good)},
      {"timestamp with a sign", webhook("msg_1", "+" + now_text, good)},
      {"hexadecimal timestamp", webhook("msg_1", "0x10", good)},
      {"timestamp with trailing garbage", webhook("msg_1", now_text + "abc", good)},
      {"RFC 3339 timestamp", webhook("msg_1", "2026-11-24T10:15:02Z", good)},
      {"\"v1,\" with non-base64", webhook("msg_good", now_text, "v1,!!!!@@@@####$$$$")},
      {"\"v1,\" alone", webhook("msg_good", now_text, "v1,")},
      {"\"v1\" without a comma", webhook("msg_good", now_text, "v1")},
      {"a comma alone", webhook("msg_good", now_text, ",")},
      {"unknown versions only", webhook("msg_good", now_text, "v1a,abc v2," + good.substr(3))},
      {"signature of 31 bytes",
       webhook("msg_good", now_text, "v1," + hookd::base64_encode(std::string(31, 'x')))},
      {"signature of 33 bytes",
       webhook("msg_good", now_text, "v1," + hookd::base64_encode(std::string(33, 'x')))},
      {"padding in the middle", webhook("msg_good", now_text, "v1,AA==AAAA")},
      {"1000 space-separated signatures", webhook("msg_good", now_text, many)},
      {"20,000 spaces", webhook("msg_good", now_text, "v1,x" + std::string(20000, ' ') + "v1,y")},
      {"signature of 50 KB", webhook("msg_good", now_text, "v1," + std::string(50000, 'A'))},
      {"webhook-id of 50 KB", webhook(std::string(50000, 'i'), now_text, good)},
      {"bytes beyond ASCII everywhere",
       webhook("msg_\xc3\xa9\xff", now_text + "\xff", "v1,\xff\xfe\x80" + good.substr(3))},
      {"a good signature for another id", webhook("msg_other", now_text, good)},
      {"a good signature for another timestamp",
       webhook("msg_good", std::to_string(now + 1), good)},
      {"svix id with webhook- signature of another message",
       {{"svix-id", "msg_1"}, {"webhook-timestamp", now_text}, {"svix-signature", good}}},
  };

  std::optional<HttpConnection> connection(std::in_place, port);
  auto post = [&](const Headers& headers, const std::string& payload) {
    Headers all = headers;
    all.emplace_back("Content-Type", "application/json");
    Reply reply = connection->request("POST", "/v1/events", payload, all);
    if (!connection->is_open()) connection.emplace(port);
    return reply;
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(client_error_problem(post(c.headers, body), 401) == "");
  }

  // Random header values: visible ASCII, spaces, tabs and bytes beyond
  // ASCII, up to 20 KB each, any of the three headers left out.
  Rng rng(0x5ec7e7);
  auto garbage = [&] {
    std::size_t size = rng.below(4) == 0 ? rng.below(20000) : rng.below(64);
    std::string value;
    for (std::size_t i = 0; i < size; ++i) {
      auto c = static_cast<unsigned char>(rng.next() & 0xFF);
      if (c < 0x20 || c == 0x7F) c = rng.below(2) ? ' ' : '\t';
      value += static_cast<char>(c);
    }
    if (rng.below(3) == 0) value = "v1," + value;
    return value;
  };
  for (int i = 0; i < 200; ++i) {
    Headers headers;
    const char* prefix = rng.below(4) == 0 ? "svix-" : "webhook-";
    for (const char* name : {"id", "timestamp", "signature"}) {
      if (rng.below(5) == 0) continue;
      std::string value = garbage();
      if (std::string_view(name) == "timestamp" && rng.below(2) == 0) value = now_text;
      headers.emplace_back(prefix + std::string(name), value);
    }
    Reply reply = post(headers, body);
    INFO("random headers #" << i);
    CHECK(client_error_problem(reply, 401) == "");
  }

  // The check can tell a good signature from all of the above.
  CHECK(post(webhook("msg_good", now_text, good), body).status == 202);
  CHECK(post(webhook("msg_good", now_text, "v1,AAAA " + good + " v1,!!"), body).status == 200);
  const std::string svix_body = R"({"type":"session.close","payload":{}})";
  CHECK(post({{"svix-id", "msg_svix"},
              {"svix-timestamp", now_text},
              {"svix-signature", secret->sign("msg_svix", now, svix_body)}},
             svix_body)
            .status == 202);
  // A signed request still gets its body and webhook-id validated.
  for (const std::string& id :
       std::vector<std::string>{"../../etc/passwd", "msg with space", std::string(129, 'm')}) {
    INFO("signed, webhook-id " << id);
    CHECK(client_error_problem(post(webhook(id, now_text, secret->sign(id, now, body)), body),
                               400) == "");
  }
  const std::string bad_json = "{\"type\":\"session.open\",\"payload\":{\"x\":\"\xff\"}}";
  CHECK(client_error_problem(
            post(webhook("msg_badjson", now_text, secret->sign("msg_badjson", now, bad_json)),
                 bad_json),
            400) == "");

  check_alive(daemon);
  CHECK(authorized_get(port, "/v1/events/msg_good").status == 200);
  CHECK(error_log_lines(daemon) == 0);
}

TEST_CASE("accepted events survive garbage around them and a restart",
          "[robustness][integration]") {
  Daemon daemon(with_flags());
  unsigned short port = daemon.port();
  const std::vector<std::string> garbage_requests = {
      "HELLO\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      post_head("Content-Length: -5\r\n") + "{}",
      post_head("Transfer-Encoding: chunked\r\n") + "zz\r\n",
      "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 << 10, 'b') + "\r\n\r\n",
      post_request(R"({"type":"session.open","payload":{"x":"\ud800"}})"),
      post_request("[" + std::string(5000, '[')),
  };
  const std::vector<std::string> garbage_bodies = {"{nope",
                                                   "",
                                                   "null",
                                                   "\xef\xbb\xbf{}",
                                                   R"({"type":"a..b","payload":{}})",
                                                   R"({"type":"a.b","id":"../x","payload":{}})",
                                                   R"({"type":"a.b","payload":{"x":1e999}})"};

  std::vector<std::string> accepted;
  std::optional<HttpConnection> keep_alive(std::in_place, port);
  for (int i = 0; i < 50; ++i) {
    std::string id = "rb-survivor-" + std::to_string(i);
    std::string body = event_json(id, i % 2 ? "session.close" : "session.open");
    Reply reply;
    switch (i % 3) {
      case 0:
        reply = post_json(port, "/v1/events", body);
        break;
      case 1:
        reply =
            keep_alive->request("POST", "/v1/events", body, {{"Content-Type", "application/json"}});
        break;
      default: {
        Exchange result = roundtrip(port, chunked_post(body, 7));
        if (!result.replies.empty()) reply = result.replies.front();
        break;
      }
    }
    INFO(id << ": " << reply.status << " " << reply.body);
    CHECK(reply.status == 202);
    if (reply.status == 202) accepted.push_back(id);

    // The garbage around it: a framing error, a bad body on the same
    // keep-alive connection, and a client that vanishes mid-body.
    Exchange bad = roundtrip(port, garbage_requests[i % garbage_requests.size()]);
    CHECK_FALSE(bad.replies.empty());
    Reply rejected =
        keep_alive->request("POST", "/v1/events", garbage_bodies[i % garbage_bodies.size()],
                            {{"Content-Type", "application/json"}});
    CHECK(client_error_problem(rejected, 400) == "");
    if (!keep_alive->is_open()) keep_alive.emplace(port);
    RawSocket vanishing(port);
    vanishing.send_all(post_head("Content-Length: 4000\r\n") + event_json("rb-lost-" + id));
    vanishing.reset();
  }
  keep_alive.reset();
  REQUIRE(accepted.size() == 50);
  CHECK(missing_ids(port, accepted).empty());

  CHECK(daemon.terminate() == 0);
  daemon.restart();
  port = daemon.port();
  std::vector<std::string> missing = missing_ids(port, accepted);
  INFO("first missing: " << (missing.empty() ? std::string() : missing.front()));
  CHECK(missing.empty());
  for (const auto& id : accepted) {
    Reply stored = authorized_get(port, "/v1/events/" + id);
    if (stored.status != 200) continue;
    CHECK(json::parse(stored.body).at("payload").at("sid") == id.c_str());
  }
  // Nothing from the vanished clients was stored.
  CHECK(authorized_get(port, "/v1/events/rb-lost-rb-survivor-0").status == 404);
  // The idempotency index came back too.
  CHECK(post_json(port, "/v1/events", event_json(accepted.front())).status == 200);
  check_alive(daemon);
}

// Error messages echo the percent-decoded request path, which may hold bytes
// that are not UTF-8; Boost.JSON serialises them raw, so HttpResponse::error
// replaces them with U+FFFD (was a finding: Router::dispatch 404, ingest.cpp
// get_event 404).
TEST_CASE("error bodies stay valid JSON when the path decodes to non-UTF-8 bytes",
          "[robustness][integration]") {
  Daemon daemon(with_flags());
  for (const char* target : {"/%FF", "/v1/events/%FF%FE", "/v1/%C0%AF/x", "/v1/events/%00"}) {
    INFO(target);
    Reply reply = http(daemon.port(), "GET", target, "", read_auth());
    CHECK(client_error_problem(reply, 404) == "");
  }
  check_alive(daemon);
}

// A request whose Transfer-Encoding does not end in "chunked" has no reliable
// length (RFC 9112 section 6.3: answer 400 and close). Beast reads it as
// bodyless, so its body would be parsed as the next request: a request
// smuggled past any proxy that frames it differently (was a finding).
TEST_CASE("a Transfer-Encoding other than chunked is refused, not smuggled",
          "[robustness][integration]") {
  Daemon daemon(with_flags());
  const std::string inner = post_request(event_json("rb-smuggled"));
  for (const std::string coding : {"gzip", "chunked, gzip", "xchunked", "identity"}) {
    INFO("Transfer-Encoding: " << coding);
    Exchange result =
        roundtrip(daemon.port(), post_head("Transfer-Encoding: " + coding + "\r\n") + inner);
    REQUIRE(!result.replies.empty());
    CHECK(client_error_problem(result.replies.front(), 400) == "");
    CHECK(header_of(result.replies.front(), "connection") == "close");
    CHECK(result.replies.size() == 1);
  }
  CHECK(authorized_get(daemon.port(), "/v1/events/rb-smuggled").status == 404);
  check_alive(daemon);
}

// Beast's header_limit bounds the unparsed part of the header, not all of it:
// fields parsed from an earlier read no longer count, so a header of small
// fields could reach about twice --max-header-bytes (was a finding; the
// server now bounds the whole block itself).
TEST_CASE("the header size limit bounds the whole header block", "[robustness][integration]") {
  Daemon daemon(with_flags());
  std::string fields;
  while (fields.size() < (30 << 10))
    fields += "X: y\r\n";
  Exchange result = roundtrip(daemon.port(), "GET /healthz HTTP/1.1\r\n" + fields + "\r\n");
  REQUIRE(!result.replies.empty());
  CHECK(client_error_problem(result.replies.front(), 431) == "");
  check_alive(daemon);
}

// Boost.JSON (1.81) parses an integer beyond 64 bits into a double, so such
// an event would be stored altered: it is refused with a 400 instead, while
// a genuine large double (1e20) and the 64-bit extremes are kept exactly.
TEST_CASE("an integer beyond 64 bits is refused, not stored altered", "[robustness][integration]") {
  Daemon daemon(with_flags());
  for (const std::string number :
       {"123456789012345678901234567890", "-9223372036854775809", "18446744073709551616"}) {
    INFO(number);
    Reply reply =
        post_json(daemon.port(), "/v1/events", R"({"type":"a.b","payload":{"x":)" + number + "}}");
    CHECK(client_error_problem(reply, 400) == "");
    CHECK(reply.body.find("64 bits") != std::string::npos);
  }
  Reply kept = post_json(
      daemon.port(), "/v1/events",
      R"({"id":"rb-wide-ok","type":"a.b","payload":{"x":1e20,"y":"123456789012345678901234567890"}})");
  REQUIRE(kept.status == 202);
  Reply stored = authorized_get(daemon.port(), "/v1/events/rb-wide-ok");
  REQUIRE(stored.status == 200);
  CHECK(stored.body.find("123456789012345678901234567890") != std::string::npos);
  check_alive(daemon);
}

// Beast keeps a header field's name and value lengths in 16 bits and throws
// std::length_error beyond 65533 bytes from inside the parser, so the flag
// stops at 64 KiB and a bigger field is a 431, never a crash.
TEST_CASE("a header field over 64 KiB gets 431 at the largest --max-header-bytes",
          "[robustness][integration]") {
  std::string out;
  CHECK(run_command(std::string(HOOKD_BINARY) +
                        " --max-header-bytes 1MiB --data-dir /tmp/hookd-never-created",
                    &out) == 2);
  CHECK(out.find("--max-header-bytes") != std::string::npos);
  Daemon daemon(with_flags({"--max-header-bytes", "65535"}));
  for (const std::string& request : std::vector<std::string>{
           "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(70000, 'v') + "\r\n\r\n",
           "GET /healthz HTTP/1.1\r\n" + std::string(70000, 'N') + ": v\r\n\r\n"}) {
    Exchange result = roundtrip(daemon.port(), request);
    REQUIRE(!result.replies.empty());
    CHECK(client_error_problem(result.replies.front(), 431) == "");
    REQUIRE(daemon.running());
  }
  check_alive(daemon);
}

// A response to HEAD must not carry a body (RFC 9110 section 9.3.2), or a
// client that reads a HEAD answer correctly takes that body for the start of
// the next response on the connection; and HEAD of a GET route is served, not
// refused with 405 (both were findings).
TEST_CASE("a response to HEAD has no body", "[robustness][integration]") {
  Daemon daemon(with_flags());
  Exchange result = roundtrip(
      daemon.port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/healthz"));
  std::size_t end_of_head = result.raw.find("\r\n\r\n");
  INFO(printable(result.raw));
  REQUIRE(end_of_head != std::string::npos);
  CHECK(result.raw.compare(end_of_head + 4, 9, "HTTP/1.1 ") == 0);
  CHECK(result.raw.rfind("HTTP/1.1 200", 0) == 0);
  check_alive(daemon);
}
