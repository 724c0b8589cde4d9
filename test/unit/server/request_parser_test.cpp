// RequestParser and RequestFieldParser without sockets: the fields as
// HttpRequest gets them (flat, lower-case names, arrival order), the facts
// the session checks, bodies, limits and pipelining, each step as an
// HttpSession takes it.
#include "request_parser.h"

#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "hookd/server/http_server.h"

namespace http = boost::beast::http;
using hookd::HttpRequest;
using hookd::HttpServerOptions;
using hookd::RequestParser;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

// One connection's parser over bytes that arrived all at once.
struct Connection {
  explicit Connection(HttpServerOptions o = {}) : options(o), parser(options) {}

  void receive(const std::string& bytes) {
    auto space = parser.buffer().prepare(bytes.size());
    std::memcpy(space.data(), bytes.data(), bytes.size());
    parser.buffer().commit(bytes.size());
  }

  // The header of the next request: its scan and the parse.
  RequestParser::HeaderScan start() {
    parser.begin(request.body);
    auto scan = parser.scan_header();
    if (scan == RequestParser::HeaderScan::complete) {
      header_error = parser.parse_header();
    }
    return scan;
  }

  // Bytes that arrived, then the next request.
  bool read(const std::string& bytes) {
    receive(bytes);
    return next();
  }

  // A whole request, as the session reads one: true when it reached a handler.
  bool next() {
    if (start() != RequestParser::HeaderScan::complete) return false;
    if (header_error || !parser.header_done()) return false;
    if (parser.framing_problem().first != 0) return false;
    body_error = parser.parse_body_buffered();
    if (body_error || !parser.done()) return false;
    facts = parser.facts();
    bool ok = hookd::to_http_request(parser.message(), request);
    parser.reset();
    return ok;
  }

  HttpServerOptions options;
  RequestParser parser;
  HttpRequest request;
  hookd::RequestFacts facts;
  boost::beast::error_code header_error;
  boost::beast::error_code body_error;
};

std::string framing_of(const std::string& head) {
  Connection c;
  c.receive(head);
  REQUIRE(c.start() == RequestParser::HeaderScan::complete);
  REQUIRE_FALSE(c.header_error);
  REQUIRE(c.parser.header_done());
  return std::string(c.parser.framing_problem().second);
}

}  // namespace

TEST_CASE("RequestParser keeps fields flat: lower-case names, values as sent, in order",
          "[http][parser]") {
  Connection c;
  REQUIRE(c.read(
      "POST /v1/events?x=1 HTTP/1.1\r\nHost: a\r\nX-Dup: one\r\nCONTENT-TYPE: Application/JSON\r\n"
      "x-dup: two\r\nX-Empty:\r\nX-Blank:   \t \r\nX-Padded: \t v a l \t\r\n"
      "Content-Length: 2\r\n\r\n{}"));
  CHECK(c.request.method == "POST");
  CHECK(c.request.target == "/v1/events?x=1");
  CHECK(c.request.path == "/v1/events");
  CHECK(c.request.query == "x=1");
  CHECK(c.request.body == "{}");
  CHECK(c.request.headers == Headers{{"host", "a"},
                                     {"x-dup", "one"},
                                     {"content-type", "Application/JSON"},
                                     {"x-dup", "two"},
                                     {"x-empty", ""},
                                     {"x-blank", ""},
                                     {"x-padded", "v a l"},
                                     {"content-length", "2"}});
  // The first of duplicates, whatever the case asked for.
  CHECK(c.request.header("X-DUP") == "one");
  CHECK(c.request.header("x-empty").empty());
}

// Beast unfolds obs-fold (RFC 9112 5.2 allows a server to replace it with
// SP), as it did for basic_fields; an unfolded value beyond its buffer is a
// header_limit (431).
TEST_CASE("RequestParser unfolds obs-fold as Beast does and refuses malformed fields",
          "[http][parser]") {
  Connection folded;
  folded.receive("GET / HTTP/1.1\r\nX-Folded: one\r\n two \r\n\t three\r\nX-B: b\r\n\r\n");
  REQUIRE(folded.next());
  CHECK(folded.request.headers == Headers{{"x-folded", "one two three"}, {"x-b", "b"}});

  Connection long_fold;
  long_fold.receive("GET / HTTP/1.1\r\nX-Folded: " + std::string(3000, 'a') + "\r\n " +
                    std::string(3000, 'b') + "\r\n\r\n");
  REQUIRE(long_fold.start() == RequestParser::HeaderScan::complete);
  CHECK(long_fold.header_error == http::error::header_limit);

  for (const std::string head : {
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\n: no name\r\n\r\n",
           "GET / HTTP/1.1\r\nX-Ctl: a\x01b\r\n\r\n",
           "GET / HTTP/1.1\r\n X-Leading: space\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
           // Beast refuses these pairs itself, before framing_problem().
           "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       }) {
    CAPTURE(head);
    Connection c;
    c.receive(head);
    REQUIRE(c.start() == RequestParser::HeaderScan::complete);
    CHECK((c.header_error || !c.parser.header_done()));
  }
}

TEST_CASE("RequestParser stores fields up to the header limit and refuses one past it",
          "[http][parser]") {
  HttpServerOptions options;
  options.max_header_bytes = 4096;
  const std::string line = "GET / HTTP/1.1\r\n";
  auto head_of = [&](std::size_t fields, std::size_t pad) {
    std::string head = line;
    for (std::size_t i = 0; i < fields; ++i) {
      head += "X-Field-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
    }
    head += "X-Pad: " + std::string(pad, 'p') + "\r\n\r\n";
    return head;
  };
  std::size_t fields = 200;
  std::string base = head_of(fields, 1);
  REQUIRE(base.size() < options.max_header_bytes);
  std::string exact = head_of(fields, 1 + options.max_header_bytes - base.size());
  REQUIRE(exact.size() == options.max_header_bytes);

  Connection c(options);
  c.receive(exact);
  REQUIRE(c.next());
  REQUIRE(c.request.headers.size() == fields + 1);
  CHECK(c.request.headers[0] == std::pair<std::string, std::string>{"x-field-0", "0"});
  CHECK(c.request.headers[199] == std::pair<std::string, std::string>{"x-field-199", "199"});
  CHECK(c.request.header("x-pad").size() == 1 + options.max_header_bytes - base.size());

  Connection over(options);
  over.receive(head_of(fields, 2 + options.max_header_bytes - base.size()));
  CHECK(over.start() == RequestParser::HeaderScan::too_big);
}

TEST_CASE("RequestParser gives the facts Beast's fields gave", "[http][parser]") {
  struct Case {
    std::string head;
    unsigned version;
    bool keep_alive;
    bool head_request;
    std::string_view label;
  };
  for (const Case& k : std::vector<Case>{
           {"GET / HTTP/1.1\r\n\r\n", 11, true, false, "GET"},
           {"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", 11, false, false, "GET"},
           {"GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", 11, false, false, "GET"},
           {"GET / HTTP/1.0\r\n\r\n", 10, false, false, "GET"},
           {"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", 10, true, false, "GET"},
           // The first Connection field decides, as basic_fields::keep_alive().
           {"GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: x\r\n\r\n", 10, true, false,
            "GET"},
           {"HEAD / HTTP/1.1\r\n\r\n", 11, true, true, "HEAD"},
           {"BREW / HTTP/1.1\r\n\r\n", 11, true, false, "other"},
       }) {
    CAPTURE(k.head);
    Connection c;
    c.receive(k.head);
    REQUIRE(c.next());
    CHECK(c.facts.version == k.version);
    CHECK(c.facts.keep_alive == k.keep_alive);
    CHECK(c.facts.head == k.head_request);
    CHECK(c.facts.method_label == k.label);
  }
  Connection unknown;
  unknown.receive("BREW /pot HTTP/1.1\r\n\r\n");
  REQUIRE(unknown.next());
  CHECK(unknown.request.method == "BREW");
}

TEST_CASE("RequestParser sees Expect: 100-continue in its first Expect field", "[http][parser]") {
  auto expects = [](const std::string& fields) {
    Connection c;
    c.receive("POST / HTTP/1.1\r\nContent-Length: 1\r\n" + fields + "\r\n");
    REQUIRE(c.start() == RequestParser::HeaderScan::complete);
    REQUIRE(c.parser.header_done());
    return c.parser.expects_continue();
  };
  CHECK(expects("Expect: 100-continue\r\n"));
  CHECK(expects("expect: 100-Continue\r\n"));
  CHECK_FALSE(expects(""));
  CHECK_FALSE(expects("Expect: 100-continue-not\r\n"));
  CHECK_FALSE(expects("Expect: x\r\nExpect: 100-continue\r\n"));
}

TEST_CASE("RequestParser finds the framing problems", "[http][parser]") {
  CHECK(framing_of("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").empty());
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").empty());
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").empty());
  CHECK(framing_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        "Transfer-Encoding in an HTTP/1.0 request");
  // Beast refuses Content-Length next to a chunked coding itself (above).
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n") ==
        "both Transfer-Encoding and Content-Length");
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") ==
        "Transfer-Encoding does not end in chunked");
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") ==
        "Transfer-Encoding does not end in chunked");
  CHECK(framing_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") ==
        "transfer codings other than chunked are not supported");
  CHECK(framing_of(
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        "transfer codings other than chunked are not supported");
}

TEST_CASE("RequestParser reads chunked bodies and pipelined requests apart", "[http][parser]") {
  Connection c;
  c.receive(
      "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\n\r\n"
      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
      "POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c HTTP/1.1\r\n\r\n");
  REQUIRE(c.next());
  CHECK(c.request.path == "/a");
  CHECK(c.request.body == "abcde");
  CHECK(c.request.headers.size() == 4);
  REQUIRE(c.next());
  CHECK(c.request.path == "/b");
  CHECK(c.request.body == "hello");
  CHECK(c.request.headers == Headers{{"content-length", "5"}});
  REQUIRE(c.next());
  CHECK(c.request.path == "/c");
  CHECK(c.request.body.empty());
  CHECK(c.request.headers.empty());
  CHECK(c.parser.buffer().size() == 0);
}

TEST_CASE("RequestParser enforces the body limit for both framings", "[http][parser]") {
  HttpServerOptions options;
  options.max_body_bytes = 8;
  Connection length(options);
  length.receive("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789");
  // A Content-Length beyond the limit fails with the header.
  CHECK_FALSE(length.next());
  CHECK(length.header_error == http::error::body_limit);
  CHECK(hookd::classify_read_error(length.header_error) == hookd::ReadFailure::body_limit);

  Connection chunked(options);
  chunked.receive(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n6789\r\n0\r\n\r\n");
  CHECK_FALSE(chunked.next());
  CHECK(chunked.body_error == http::error::body_limit);

  Connection within(options);
  within.receive("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678");
  REQUIRE(within.next());
  CHECK(within.request.body == "12345678");
}
