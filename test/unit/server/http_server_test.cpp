// Router matching, and an in-process HttpServer on a real Reactor driven over
// real sockets on 127.0.0.1.
#include "hookd/server/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "hookd/core/metrics.h"
#include "hookd/server/reactor.h"
#include "support/skip.h"
#include "support/support.h"

using namespace hookd;
using hookd::test::HttpConnection;
using hookd::test::Reply;
using hookd::test::TempDir;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// Calls the responder synchronously and records what it got.
HttpResponse dispatch(const Router& router, const std::string& method, const std::string& path,
                      std::map<std::string, std::string>* params = nullptr) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.target = path;
  HttpResponse out;
  out.status = 0;
  router.dispatch(request, [&](HttpResponse response) { out = std::move(response); });
  if (params) *params = request.params;
  return out;
}

HttpResponse text(std::string body) {
  HttpResponse response;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// A responder a test holds on to and answers later, from its own thread.
struct Parked {
  std::mutex mutex;
  std::vector<Responder> responders;
  std::size_t size() {
    std::lock_guard lock(mutex);
    return responders.size();
  }
  void add(Responder r) {
    std::lock_guard lock(mutex);
    responders.push_back(std::move(r));
  }
  Responder take(std::size_t i) {
    std::lock_guard lock(mutex);
    return responders.at(i);
  }
  void clear() {
    std::vector<Responder> gone;
    {
      std::lock_guard lock(mutex);
      gone.swap(responders);
    }
  }
};

Router test_router(Parked& parked) {
  Router router;
  router.add("GET", "/hello", [](HttpRequest&, Responder respond) { respond(text("hello")); });
  router.add("POST", "/echo",
             [](HttpRequest& request, Responder respond) { respond(text(request.body)); });
  router.add("GET", "/items/{id}", [](HttpRequest& request, Responder respond) {
    std::string id = request.params["id"];
    if (id == "late") {
      // Answered from another thread, after the next request is already buffered.
      std::thread([respond] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        respond(text("late"));
      }).detach();
      return;
    }
    respond(text(id + "?" + request.query));
  });
  router.add("GET", "/twice", [](HttpRequest&, Responder respond) {
    respond(text("first"));
    respond(text("second"));
  });
  router.add("GET", "/throws",
             [](HttpRequest&, Responder) { throw std::runtime_error("handler bug"); });
  router.add("GET", "/park",
             [&parked](HttpRequest&, Responder respond) { parked.add(std::move(respond)); });
  return router;
}

// An HttpServer on its own Reactor (2 threads), listening on `listen`.
// A parked responder holds its session, whose timer and socket belong to a
// reactor's io_context: `parked` is emptied after the reactor stops and
// before it goes away, whatever order the test declared them in.
class TestServer {
 public:
  TestServer(HttpServerOptions options, Router router, Parked& parked,
             const std::string& listen = "127.0.0.1:0")
      : reactor_(2), parked_(parked) {
    options.listen = listen;
    server_ = std::make_unique<HttpServer>(reactor_, std::move(options), std::move(router));
    auto status = server_->start();
    if (!status) FAIL(status.error().message);
    thread_ = std::thread([this] { reactor_.run(nullptr); });
  }
  ~TestServer() {
    reactor_.stop();
    thread_.join();
    parked_.clear();
    server_.reset();
  }
  unsigned short port() const { return server_->port(); }
  HttpServer& server() { return *server_; }

 private:
  Reactor reactor_;
  Parked& parked_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

// A raw blocking socket whose reads give up after `timeout` instead of
// hanging the test when the server misbehaves.
class RawClient {
 public:
  RawClient(unsigned short port, std::chrono::seconds timeout = std::chrono::seconds(20),
            const std::string& address = "127.0.0.1")
      : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address(address), port));
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& bytes) { net::write(socket_, net::buffer(bytes)); }
  // Reads until `marker` has arrived (or the peer closes / the read times out).
  std::string read_until(const std::string& marker) {
    char buf[4096];
    while (pending_.find(marker) == std::string::npos) {
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n <= 0) break;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
    std::string out;
    out.swap(pending_);
    return out;
  }
  // Whether the peer has closed, without waiting: data already sent is
  // read and kept for read_until.
  bool peer_closed() {
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        pending_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    }
  }
  // Everything until the peer closes. `closed` is false when the read timed out.
  std::string read_all(bool& closed) {
    std::string out;
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      return out;
    }
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  std::string pending_;
};

double counter(const std::string& name, const Labels& labels) {
  return metrics().counter(name, "", labels).value();
}

std::string request_text(const std::string& method, const std::string& target,
                         const std::string& extra = "") {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("Router matches {params}, answers 404 and 405", "[http]") {
  Router router;
  int hits = 0;
  router.add("GET", "/v1/events/{id}", [&](HttpRequest&, Responder respond) {
    ++hits;
    respond(HttpResponse::json(200, "{}"));
  });
  router.add("POST", "/v1/events",
             [&](HttpRequest&, Responder respond) { respond(HttpResponse::json(202, "{}")); });
  router.add("GET", "/a/{x}/b/{y}",
             [&](HttpRequest&, Responder respond) { respond(HttpResponse::json(200, "{}")); });
  router.add("GET", "/",
             [&](HttpRequest&, Responder respond) { respond(HttpResponse::json(200, "{}")); });

  std::map<std::string, std::string> params;
  CHECK(dispatch(router, "GET", "/v1/events/evt_1", &params).status == 200);
  CHECK(params == std::map<std::string, std::string>{{"id", "evt_1"}});
  CHECK(hits == 1);
  CHECK(dispatch(router, "GET", "/a/1/b/2", &params).status == 200);
  CHECK(params == std::map<std::string, std::string>{{"x", "1"}, {"y", "2"}});
  CHECK(dispatch(router, "POST", "/v1/events").status == 202);
  CHECK(dispatch(router, "GET", "/").status == 200);

  CHECK(dispatch(router, "GET", "/v1/events/").status == 404);  // empty {id}
  CHECK(dispatch(router, "GET", "/v1/events/a/b").status == 404);
  CHECK(dispatch(router, "GET", "/v1/event").status == 404);
  CHECK(dispatch(router, "GET", "/nothing").status == 404);

  auto not_allowed = dispatch(router, "DELETE", "/v1/events/evt_1");
  CHECK(not_allowed.status == 405);
  REQUIRE(not_allowed.headers.size() == 1);
  CHECK(not_allowed.headers[0] == std::pair<std::string, std::string>{"Allow", "GET"});
  CHECK(dispatch(router, "GET", "/v1/events").status == 405);
  CHECK(hits == 1);

  CHECK(router.match("GET", "/v1/events/x") == "/v1/events/{id}");
  CHECK(router.match("PUT", "/v1/events/x") == "/v1/events/{id}");
  CHECK(router.match("POST", "/v1/events") == "/v1/events");
  CHECK(router.match("GET", "/v1/events/x/y").empty());
}

TEST_CASE("Router: a connection's repeated request reuses its route, any other looks again",
          "[http]") {
  // One HttpRequest for all requests, as a connection keeps it: the route
  // memo must never route a request where a fresh lookup would not.
  std::vector<std::string> ran;
  auto route = [&ran](std::string name) {
    return [&ran, name](HttpRequest& request, Responder respond) {
      ran.push_back(name + (request.params.empty() ? "" : ":" + request.params.begin()->second));
      respond(HttpResponse::json(200, "{}"));
    };
  };
  Router first;
  first.add("POST", "/api/v1/app/{app}/msg", route("create"));
  first.add("GET", "/api/v1/app/{app}/msg", route("list"));
  Router second;
  second.add("POST", "/api/v1/app/{app}/msg", route("other-router"));

  HttpRequest request;
  auto send = [&request](const Router& router, std::string method, std::string path) {
    request.method = std::move(method);
    request.path = path;
    request.target = std::move(path);
    int status = 0;
    router.dispatch(request, [&status](HttpResponse response) { status = response.status; });
    return status;
  };
  CHECK(send(first, "POST", "/api/v1/app/a/msg") == 200);
  CHECK(send(first, "POST", "/api/v1/app/a/msg") == 200);   // the remembered route
  CHECK(send(first, "GET", "/api/v1/app/a/msg") == 200);    // another method
  CHECK(send(first, "POST", "/api/v1/app/b/msg") == 200);   // another path
  CHECK(send(second, "POST", "/api/v1/app/b/msg") == 200);  // another router
  CHECK(send(first, "POST", "/api/v1/app/b/msgs") == 404);
  CHECK(send(first, "POST", "/api/v1/app/b/msg") == 200);
  first.add("POST", "/api/v1/app/{app}/msg/", route("added"));  // routes changed
  CHECK(send(first, "POST", "/api/v1/app/b/msg") == 200);
  CHECK(ran == std::vector<std::string>{"create:a", "create:a", "list:a", "create:b",
                                        "other-router:b", "create:b", "create:b"});

  // A handler that changes its params does not hand the change to the
  // connection's next request.
  Router changing;
  changing.add("POST", "/api/v1/app/{app}/msg", [&ran](HttpRequest& r, Responder respond) {
    ran.push_back("saw:" + r.params["app"]);
    r.params["app"] = "changed";
    r.params["extra"] = "x";
    respond(HttpResponse::json(200, "{}"));
  });
  ran.clear();
  CHECK(send(changing, "POST", "/api/v1/app/c/msg") == 200);
  CHECK(send(changing, "POST", "/api/v1/app/c/msg") == 200);
  CHECK(ran == std::vector<std::string>{"saw:c", "saw:c"});
  CHECK(request.params.size() == 2);  // what the handler left
  CHECK(send(changing, "POST", "/api/v1/app/c/msg") == 200);
  CHECK(ran.back() == "saw:c");
}

TEST_CASE("HttpRequest::header and HttpResponse helpers", "[http]") {
  HttpRequest request;
  request.headers = {{"content-type", "application/json"}, {"x-a", "1"}, {"x-a", "2"}};
  CHECK(request.header("Content-Type") == "application/json");
  CHECK(request.header("X-A") == "1");
  CHECK(request.header("missing").empty());
  auto error = HttpResponse::error(400, "bad \"quote\"");
  CHECK(error.status == 400);
  CHECK(error.content_type == "application/json");
  CHECK(error.body == R"({"error":"bad \"quote\""})");
}

TEST_CASE("HttpResponse::error replaces bytes that are not UTF-8", "[http]") {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{
           {"caf\xC3\xA9 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xF0\x9F\x98\x80"},  // kept as is
           {"/\xFF", "/" + fffd},
           {"/\xC0\xAF", "/" + fffd + fffd},                 // overlong '/'
           {"\xED\xA0\x80", fffd + fffd + fffd},             // a UTF-16 surrogate
           {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
           {"x\xE2\x82", "x" + fffd + fffd},                 // cut short
           {std::string("a\0b", 3), std::string("a\0b", 3)}}) {
    INFO(c.in);
    auto response = HttpResponse::error(404, "no such resource: " + c.in);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(response.body, ec);
    REQUIRE_FALSE(ec);
    CHECK(parsed.at("error").as_string() == "no such resource: " + c.out);
  }
}

TEST_CASE("Router sends HEAD to the GET route of a path", "[http]") {
  Router router;
  std::string seen;
  router.add("GET", "/v1/events/{id}", [&](HttpRequest& request, Responder respond) {
    seen = request.method + " " + request.params["id"];
    respond(HttpResponse::json(200, "{}"));
  });
  router.add("POST", "/v1/events",
             [&](HttpRequest&, Responder respond) { respond(HttpResponse::json(202, "{}")); });
  router.add("GET", "/both", [&](HttpRequest&, Responder respond) { respond(text("get")); });
  router.add("HEAD", "/both", [&](HttpRequest&, Responder respond) { respond(text("head")); });

  CHECK(dispatch(router, "HEAD", "/v1/events/e1").status == 200);
  CHECK(seen == "HEAD e1");
  CHECK(router.match("HEAD", "/v1/events/e1") == "/v1/events/{id}");
  // A HEAD route of its own wins, wherever it was added.
  CHECK(dispatch(router, "HEAD", "/both").body == "head");
  CHECK(dispatch(router, "GET", "/both").body == "get");
  // No GET route: HEAD is not allowed either.
  auto not_allowed = dispatch(router, "HEAD", "/v1/events");
  CHECK(not_allowed.status == 405);
  CHECK(dispatch(router, "HEAD", "/nothing").status == 404);
}

TEST_CASE("HttpServer serves keep-alive and pipelined requests in order", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);

  HttpConnection connection(server.port());
  REQUIRE(connection.is_open());
  auto first = connection.request("GET", "/hello");
  CHECK(first.status == 200);
  CHECK(first.body == "hello");
  CHECK(first.headers["server"] == std::string("hookd/") + HOOKD_VERSION);
  CHECK(first.headers["content-type"] == "text/plain");
  CHECK(first.headers.count("connection") == 0);
  // The same socket answers again: the server kept it open.
  auto second = connection.request("POST", "/echo", "ping");
  CHECK(second.status == 200);
  CHECK(second.body == "ping");
  CHECK(connection.is_open());

  // Two requests in one write; the first is answered late from another thread.
  connection.write_raw(request_text("GET", "/items/late") + request_text("GET", "/items/b?x=1"));
  auto late = connection.read_reply();
  auto b = connection.read_reply();
  CHECK(late.status == 200);
  CHECK(late.body == "late");
  CHECK(b.status == 200);
  CHECK(b.body == "b?x=1");

  // Responding twice is harmless; the second answer is dropped.
  auto twice = connection.request("GET", "/twice");
  CHECK(twice.body == "first");
  CHECK(connection.request("GET", "/hello").body == "hello");

  auto thrown = connection.request("GET", "/throws");
  CHECK(thrown.status == 500);
  CHECK(connection.request("GET", "/nowhere").status == 404);
  CHECK(connection.request("PUT", "/hello").status == 405);
  CHECK(connection.request("GET", "/items/%41%20b").body == "A b?");
  CHECK(connection.is_open());

  // Connection: close is honoured.
  auto closing = connection.request("GET", "/hello", "", {{"Connection", "close"}});
  CHECK(closing.status == 200);
  CHECK(closing.headers["connection"] == "close");
  CHECK_FALSE(connection.is_open());

  CHECK(counter("hookd_http_requests_total",
                {{"route", "/items/{id}"}, {"method", "GET"}, {"status", "200"}}) >= 3);
  CHECK(counter("hookd_http_requests_total",
                {{"route", "unmatched"}, {"method", "GET"}, {"status", "404"}}) >= 1);
  CHECK(metrics().render().find("/nowhere") == std::string::npos);
}

TEST_CASE("HttpServer answers Expect: 100-continue", "[http]") {
  Parked parked;
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  TestServer server(options, test_router(parked), parked);

  RawClient client(server.port());
  client.send(request_text("POST", "/echo", "Content-Length: 5\r\nExpect: 100-continue\r\n"));
  CHECK(client.read_until("\r\n\r\n").rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
  client.send("hello");
  std::string reply = client.read_until("hello");
  CHECK(reply.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  // Over the limit: refused before the client sends the body.
  RawClient big(server.port());
  big.send(request_text("POST", "/echo", "Content-Length: 5000\r\nExpect: 100-continue\r\n"));
  bool closed = false;
  CHECK(big.read_all(closed).rfind("HTTP/1.1 413", 0) == 0);
  CHECK(closed);
}

TEST_CASE("HttpServer tolerates answers for connections that are gone", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);
  {
    RawClient client(server.port());
    client.send(request_text("GET", "/park"));
    REQUIRE(hookd::test::wait_until([&] { return parked.size() == 1; }));
  }  // the client hangs up while the handler is busy
  parked.take(0)(text("too late"));
  parked.take(0)(text("and again"));
  // The dead session is closed once its answer fails, so the drain completes.
  std::atomic<bool> done{false};
  server.server().drain([&] { done = true; });
  CHECK(hookd::test::wait_until([&] { return done.load(); }));
}

TEST_CASE("HttpServer enforces body and header limits", "[http]") {
  Parked parked;
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  options.max_header_bytes = 2048;
  TestServer server(options, test_router(parked), parked);

  double body_errors = counter("hookd_http_request_errors_total", {{"reason", "body_limit"}});
  double header_errors = counter("hookd_http_request_errors_total", {{"reason", "header_limit"}});

  HttpConnection small(server.port());
  CHECK(small.request("POST", "/echo", std::string(1024, 'x')).status == 200);
  CHECK(small.is_open());

  HttpConnection big(server.port());
  auto too_big = big.request("POST", "/echo", std::string(64 * 1024, 'x'));
  CHECK(too_big.status == 413);
  CHECK(too_big.headers["connection"] == "close");
  CHECK_FALSE(big.is_open());

  // Chunked: the limit applies to the decoded body as it arrives.
  RawClient chunked(server.port());
  std::string chunk(1500, 'y');
  char size[16];
  std::snprintf(size, sizeof size, "%zx", chunk.size());
  chunked.send(request_text("POST", "/echo", "Transfer-Encoding: chunked\r\n") + size + "\r\n" +
               chunk + "\r\n0\r\n\r\n");
  bool closed = false;
  CHECK(chunked.read_all(closed).rfind("HTTP/1.1 413", 0) == 0);
  CHECK(closed);

  HttpConnection huge(server.port());
  auto too_long = huge.request("GET", "/hello", "", {{"X-Filler", std::string(8192, 'h')}});
  CHECK(too_long.status == 431);
  CHECK_FALSE(huge.is_open());

  CHECK(counter("hookd_http_request_errors_total", {{"reason", "body_limit"}}) >= body_errors + 2);
  CHECK(counter("hookd_http_request_errors_total", {{"reason", "header_limit"}}) ==
        header_errors + 1);
}

TEST_CASE("HttpServer bounds the whole header block by max_header_bytes", "[http]") {
  Parked parked;
  HttpServerOptions options;
  options.max_header_bytes = 2048;
  TestServer server(options, test_router(parked), parked);
  double header_errors = counter("hookd_http_request_errors_total", {{"reason", "header_limit"}});

  // A header of exactly the limit, request line and blank line included, passes.
  auto request_of_size = [](std::size_t size) {
    std::string head = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ";
    return head + std::string(size - head.size() - 4, 'p') + "\r\n\r\n";
  };
  for (std::size_t size : {std::size_t{2048}, std::size_t{2049}}) {
    INFO(size);
    RawClient client(server.port());
    std::string request = request_of_size(size);
    REQUIRE(request.size() == size);
    client.send(request);
    std::string reply = client.read_until("\r\n\r\n");
    CHECK(reply.rfind(size == 2048 ? "HTTP/1.1 200" : "HTTP/1.1 431", 0) == 0);
  }

  // Small fields in several writes: the parser has consumed the first ones
  // before the rest arrive; they still count.
  RawClient client(server.port());
  client.send("GET /hello HTTP/1.1\r\n");
  for (int i = 0; i < 6; ++i) {
    std::string fields;
    while (fields.size() < 600)
      fields += "X: y\r\n";
    client.send(fields);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // separate reads, not timing
  }
  client.send("\r\n");
  bool closed = false;
  CHECK(client.read_all(closed).rfind("HTTP/1.1 431", 0) == 0);
  CHECK(closed);
  CHECK(counter("hookd_http_request_errors_total", {{"reason", "header_limit"}}) ==
        header_errors + 2);
}

TEST_CASE("HttpServer refuses framing it cannot trust with 400 and closes", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);
  // Each body is a whole second request: read as one, it would be smuggled.
  const std::string inner = request_text("GET", "/hello");
  struct Case {
    std::string head;
    std::string status_line;
  };
  for (const Case& c : std::vector<Case>{
           {request_text("POST", "/echo", "Transfer-Encoding: gzip\r\n"), "HTTP/1.1 400"},
           {request_text("POST", "/echo", "Transfer-Encoding: chunked, gzip\r\n"), "HTTP/1.1 400"},
           {request_text("POST", "/echo", "Transfer-Encoding: xchunked\r\n"), "HTTP/1.1 400"},
           {request_text("POST", "/echo", "Transfer-Encoding: identity\r\n"), "HTTP/1.1 400"},
           {request_text("POST", "/echo",
                         "Transfer-Encoding: gzip\r\nContent-Length: " +
                             std::to_string(inner.size()) + "\r\n"),
            "HTTP/1.1 400"},
           {"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0 400"},
           {request_text("POST", "/echo", "Transfer-Encoding: gzip, chunked\r\n"),
            "HTTP/1.1 400"}}) {
    INFO(c.head);
    RawClient client(server.port());
    client.send(c.head + inner);
    bool closed = false;
    std::string reply = client.read_all(closed);
    CHECK(reply.rfind(c.status_line, 0) == 0);
    CHECK(reply.find("\r\n\r\nHTTP/") == std::string::npos);  // one answer only
    CHECK(reply.find("hello") == std::string::npos);
    if (c.status_line.rfind("HTTP/1.1", 0) == 0) {
      CHECK(reply.find("Connection: close\r\n") != std::string::npos);
    }
    CHECK(closed);
  }
  // Plain chunked stays fine.
  RawClient client(server.port());
  client.send(request_text("POST", "/echo", "Transfer-Encoding: chunked\r\n") +
              "5\r\nhello\r\n0\r\n\r\n");
  CHECK(client.read_until("hello").rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("HttpServer answers malformed requests with 400 and closes", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);
  RawClient client(server.port());
  client.send("THIS IS NOT HTTP\r\n\r\n");
  bool closed = false;
  std::string reply = client.read_all(closed);
  CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(reply.find("Connection: close") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer cuts off slow and idle clients", "[http]") {
  Parked parked;
  HttpServerOptions options;
  options.read_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(300);
  TestServer server(options, test_router(parked), parked);
  double timeouts = counter("hookd_http_request_errors_total", {{"reason", "timeout"}});

  SECTION("half a request, then nothing") {
    RawClient client(server.port());
    client.send("POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nabc");
    bool closed = false;
    CHECK(client.read_all(closed).empty());
    CHECK(closed);
    // The close is what the client sees first; the count follows on the server.
    CHECK(hookd::test::wait_until([&] {
      return counter("hookd_http_request_errors_total", {{"reason", "timeout"}}) >= timeouts + 1;
    }));
  }
  SECTION("a header trickling in") {
    // Each piece arrives well inside read_timeout, for far longer than
    // read_timeout in all: only a deadline on the whole request cuts this,
    // a timer restarted on every read never would.
    const auto started = std::chrono::steady_clock::now();
    const auto trickle_for = 20 * options.read_timeout;
    RawClient client(server.port());
    client.send("GET /hello HTTP/1.1\r\n");
    bool closed = false;
    auto elapsed = std::chrono::steady_clock::duration::zero();
    while (!closed && elapsed < trickle_for) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      elapsed = std::chrono::steady_clock::now() - started;
      try {
        closed = client.peer_closed();
        if (!closed) client.send("X-Slow: 1\r\n");
      } catch (const std::exception&) {
        closed = true;  // the reset of a socket the server already closed
      }
    }
    const auto cut_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    INFO("cut after " << cut_ms << " ms of trickling; read_timeout " << options.read_timeout.count()
                      << " ms");
    CHECK(closed);
    // Not before the deadline, and at it rather than after: the bound is
    // the trickle itself, under which a per-read timer never fires.
    CHECK(elapsed >= options.read_timeout);
    CHECK(elapsed < trickle_for);
    CHECK(client.read_until("HTTP/").find("HTTP/1.1 200") == std::string::npos);
  }
  SECTION("an idle keep-alive connection") {
    HttpConnection connection(server.port());
    CHECK(connection.request("GET", "/hello").status == 200);
    auto after_idle = connection.read_reply();  // the server closes: transport error
    CHECK(after_idle.status == 0);
  }
}

TEST_CASE("HttpServer moves the idle deadline with every keep-alive request", "[http]") {
  // The idle timer is armed once and waits again when the deadline moved:
  // a connection in use outlives several idle_timeouts, and is closed once
  // it goes quiet.
  Parked parked;
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(1000);
  TestServer server(options, test_router(parked), parked);
  HttpConnection connection(server.port());
  const auto started = std::chrono::steady_clock::now();
  int answered = 0;
  while (std::chrono::steady_clock::now() - started < 3 * options.idle_timeout) {
    REQUIRE(connection.request("GET", "/hello").status == 200);
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(answered > 3);
  auto after_idle = connection.read_reply();  // the server closes: transport error
  CHECK(after_idle.status == 0);
}

TEST_CASE("HttpServer refuses connections beyond max_connections", "[http]") {
  Parked parked;
  HttpServerOptions options;
  options.max_connections = 1;
  TestServer server(options, test_router(parked), parked);
  double rejected = counter("hookd_http_rejected_connections_total", {});

  HttpConnection first(server.port());
  CHECK(first.request("GET", "/hello").status == 200);
  HttpConnection second(server.port());
  CHECK(second.request("GET", "/hello").status == 0);
  CHECK(counter("hookd_http_rejected_connections_total", {}) == rejected + 1);
  CHECK(first.request("GET", "/hello").status == 200);
}

TEST_CASE("HttpServer drain finishes in-flight requests, then reports done", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);

  HttpConnection idle(server.port());
  CHECK(idle.request("GET", "/hello").status == 200);

  Reply in_flight;
  std::thread client([&] {
    HttpConnection busy(server.port());
    in_flight = busy.request("GET", "/park");
  });
  REQUIRE(hookd::test::wait_until([&] { return parked.size() == 1; }));

  std::atomic<bool> done{false};
  server.server().drain([&] { done = true; });
  // The idle keep-alive connection is closed by the drain.
  CHECK(idle.read_reply().status == 0);
  // New connections are no longer accepted.
  CHECK(hookd::test::http(server.port(), "GET", "/hello").status == 0);
  CHECK_FALSE(done);

  parked.take(0)(text("finished"));
  client.join();
  CHECK(in_flight.status == 200);
  CHECK(in_flight.body == "finished");
  CHECK(in_flight.headers["connection"] == "close");
  CHECK(hookd::test::wait_until([&] { return done.load(); }));
}

TEST_CASE("HttpServer drain with no connections reports done", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);
  std::atomic<bool> done{false};
  server.server().drain([&] { done = true; });
  CHECK(hookd::test::wait_until([&] { return done.load(); }));
}

TEST_CASE("HttpServer start() reports bad listen addresses and TLS files", "[http]") {
  Reactor reactor(1);
  Parked parked;
  auto start = [&](HttpServerOptions options) {
    HttpServer server(reactor, std::move(options), test_router(parked));
    return server.start();
  };
  HttpServerOptions options;
  options.listen = "no-port";
  CHECK_FALSE(start(options).ok());
  options.listen = "127.0.0.1:99999";
  CHECK_FALSE(start(options).ok());
  options.listen = "::1:80";
  CHECK_FALSE(start(options).ok());

  options.listen = "127.0.0.1:0";
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  auto status = start(options);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("cert") != std::string::npos);
  options.tls_key_file.clear();
  CHECK_FALSE(start(options).ok());
}

TEST_CASE("HttpServer binds IPv6 loopback and serves over it", "[http]") {
  if (!hookd::test::has_ipv6_loopback()) HOOKD_SKIP("this machine has no ::1 (/proc/net/if_inet6)");
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked, "[::1]:0");
  REQUIRE(server.port() != 0);
  HttpConnection connection(server.port(), hookd::test::kHttpTimeout, "::1");
  REQUIRE(connection.is_open());
  Reply reply = connection.request("GET", "/hello");
  INFO(reply.body);
  CHECK(reply.status == 200);
  CHECK(reply.body == "hello");
}

TEST_CASE("HttpServer speaks HTTPS with the configured certificate", "[http][tls]") {
  TempDir dir;
  auto cert = dir.path() / "cert.pem";
  auto key = dir.path() / "key.pem";
  std::string output;
  int rc = hookd::test::run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
          key.string() + " -out " + cert.string(),
      &output);
  REQUIRE(rc == 0);

  Parked parked;
  HttpServerOptions options;
  options.tls_cert_file = cert.string();
  options.tls_key_file = key.string();
  options.read_timeout = std::chrono::milliseconds(2000);
  TestServer server(options, test_router(parked), parked);

  auto tls_request = [&](const std::string& trust) -> std::pair<beast::error_code, Reply> {
    net::io_context io;
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file(trust);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), server.port()), ec);
    if (!ec) stream.handshake(ssl::stream_base::client, ec);
    if (ec) return {ec, Reply{}};
    Reply reply;
    for (const char* body : {"one", "two"}) {  // keep-alive over TLS
      bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/echo", 11};
      request.set(bhttp::field::host, "127.0.0.1");
      request.body() = body;
      request.prepare_payload();
      bhttp::write(stream, request, ec);
      if (ec) return {ec, Reply{}};
      beast::flat_buffer buffer;
      bhttp::response<bhttp::string_body> response;
      bhttp::read(stream, buffer, response, ec);
      if (ec) return {ec, Reply{}};
      reply.status = response.result_int();
      reply.body += response.body();
    }
    stream.shutdown(ec);
    return {beast::error_code{}, reply};
  };

  auto [ec, reply] = tls_request(cert.string());
  INFO(ec.message());
  REQUIRE_FALSE(ec);
  CHECK(reply.status == 200);
  CHECK(reply.body == "onetwo");

  // A client that trusts another certificate refuses the handshake.
  auto other = dir.path() / "other.pem";
  REQUIRE(hookd::test::run_command(
              "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
              " -subj /CN=127.0.0.1 -keyout " +
                  (dir.path() / "other-key.pem").string() + " -out " + other.string(),
              &output) == 0);
  double tls_errors = counter("hookd_http_request_errors_total", {{"reason", "tls"}});
  CHECK(tls_request(other.string()).first);

  // Plain HTTP to the TLS port gets no HTTP answer.
  RawClient plain(server.port());
  plain.send(request_text("GET", "/hello"));
  bool closed = false;
  CHECK(plain.read_all(closed).find("HTTP/1.1 200") == std::string::npos);
  CHECK(closed);
  CHECK(hookd::test::wait_until([&] {
    return counter("hookd_http_request_errors_total", {{"reason", "tls"}}) >= tls_errors + 2;
  }));
}

TEST_CASE("HttpServer frames responses itself: fields, HEAD, 1xx/204/304, HTTP/1.0", "[http]") {
  Parked parked;
  Router router = test_router(parked);
  router.add("GET", "/status/{code}", [](HttpRequest& request, Responder respond) {
    HttpResponse response = text("ignored");
    response.status = std::stoi(request.params["code"]);
    respond(std::move(response));
  });
  router.add("GET", "/fields", [](HttpRequest&, Responder respond) {
    HttpResponse response = text("ok");
    response.headers = {{"Retry-After", "3"},
                        {"X-Split", "a\r\nInjected: 1"},
                        {"Content-Length", "999"},
                        {"Transfer-Encoding", "chunked"},
                        {"Bad:Name", "x"}};
    respond(std::move(response));
  });
  TestServer server(HttpServerOptions{}, std::move(router), parked);
  const std::string server_field = std::string("Server: hookd/") + HOOKD_VERSION + "\r\n";

  RawClient client(server.port());
  client.send(request_text("GET", "/hello"));
  CHECK(client.read_until("hello") == "HTTP/1.1 200 OK\r\n" + server_field +
                                          "Content-Type: text/plain\r\n"
                                          "Content-Length: 5\r\n\r\nhello");

  // Handler fields are written in order; ones that would split the response
  // or change its framing are dropped.
  client.send(request_text("GET", "/fields"));
  CHECK(client.read_until("\r\n\r\nok") == "HTTP/1.1 200 OK\r\n" + server_field +
                                               "Content-Type: text/plain\r\n"
                                               "Retry-After: 3\r\n"
                                               "Content-Length: 2\r\n\r\nok");

  // HEAD: the length of the body a GET would get, and no body. The next
  // answer on the connection follows right after the head.
  client.send(request_text("HEAD", "/hello") + request_text("GET", "/hello"));
  std::string head_then_get = client.read_until("\r\n\r\nhello");
  CHECK(head_then_get.rfind("HTTP/1.1 ", 0) == 0);
  CHECK(head_then_get.find("Content-Length: ") != std::string::npos);
  auto second = head_then_get.find("\r\n\r\nHTTP/1.1 200 OK\r\n");
  CHECK(second != std::string::npos);

  // 204 and 304 carry neither a body nor a length.
  for (const char* code : {"204", "304"}) {
    client.send(request_text("GET", std::string("/status/") + code) +
                request_text("GET", "/hello"));
    std::string reply = client.read_until("\r\n\r\nhello");
    INFO(reply);
    CHECK(reply.rfind(std::string("HTTP/1.1 ") + code, 0) == 0);
    CHECK(reply.find("Content-Length: 0") == std::string::npos);
    CHECK(reply.find("ignored") == std::string::npos);
    CHECK(reply.find("\r\n\r\nHTTP/1.1 200 OK\r\n") != std::string::npos);
  }

  // An unknown status keeps its code; Beast's reason text for it.
  client.send(request_text("GET", "/status/299"));
  CHECK(client.read_until("ignored").rfind("HTTP/1.1 299 ", 0) == 0);

  // HTTP/1.0: keep-alive only when asked for, and said so.
  RawClient old(server.port());
  old.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  std::string kept = old.read_until("hello");
  CHECK(kept.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(kept.find("Connection: keep-alive\r\n") != std::string::npos);
  old.send("GET /hello HTTP/1.0\r\n\r\n");
  bool closed = false;
  std::string last = old.read_all(closed);
  CHECK(last.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(last.find("Connection:") == std::string::npos);
  CHECK(closed);
}

TEST_CASE("HttpServer reuses its buffers without mixing requests", "[http]") {
  Parked parked;
  TestServer server(HttpServerOptions{}, test_router(parked), parked);

  // A long body, then shorter ones, on one connection: each echo is exact.
  HttpConnection connection(server.port());
  CHECK(connection.request("POST", "/echo", std::string(3000, 'a')).body == std::string(3000, 'a'));
  CHECK(connection.request("POST", "/echo", "b").body == "b");
  CHECK(connection.request("POST", "/echo", "").body.empty());
  auto post = [](const std::string& body) {
    return "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  connection.write_raw(post(std::string(2000, 'c')) + post("dd"));
  CHECK(connection.read_reply().body == std::string(2000, 'c'));
  CHECK(connection.read_reply().body == "dd");
  // A big response is not kept by the connection, and the next one is whole.
  CHECK(connection.request("POST", "/echo", std::string(200000, 'e')).body.size() == 200000);
  CHECK(connection.request("GET", "/hello").body == "hello");

  // A request that arrives in pieces: header split, then the body late.
  RawClient client(server.port());
  client.send("POST /echo HTTP/1.1\r\nHost: 127.");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.send("0.0.1\r\nContent-Length: 5\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.send("hel");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  client.send("lo" + request_text("GET", "/items/x"));
  std::string replies = client.read_until("x?");
  CHECK(replies.find("\r\n\r\nhello") != std::string::npos);
  CHECK(replies.find("\r\n\r\nx?") != std::string::npos);
}

TEST_CASE("HttpServer finishes responses larger than the socket buffer", "[http]") {
  Parked parked;
  Router router = test_router(parked);
  const std::string big(8 << 20, 'z');
  router.add("GET", "/big", [&big](HttpRequest&, Responder respond) { respond(text(big)); });
  TestServer server(HttpServerOptions{}, std::move(router), parked);

  // The client reads only after a pause: the server has written what the
  // kernel took and waits for the rest.
  RawClient client(server.port());
  client.send(request_text("GET", "/big") + request_text("GET", "/hello"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string replies = client.read_until("\r\n\r\nhello");
  auto body = replies.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  CHECK(replies.find("Content-Length: " + std::to_string(big.size()) + "\r\n") < body);
  auto second = replies.find("HTTP/1.1 200 OK\r\n", body);
  REQUIRE(second != std::string::npos);
  CHECK(second - (body + 4) == big.size());
  CHECK(replies.compare(body + 4, big.size(), big) == 0);
}
