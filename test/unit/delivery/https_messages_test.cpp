// The HTTPS client's wire side without sockets: origins from URLs, requests
// as Beast encodes them, responses as callers see them.
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "hookd/delivery/https_messages.h"

namespace http = boost::beast::http;

namespace {

std::string wire(const hookd::BeastRequest& request) {
  std::ostringstream out;
  out << request;
  return out.str();
}

hookd::Origin origin_of(const std::string& url) {
  auto origin = hookd::parse_origin(url);
  INFO(url << ": " << (origin ? "" : origin.error().message));
  REQUIRE(origin.ok());
  return origin.value();
}

}  // namespace

TEST_CASE("origins: scheme, host, port, target and the Host header") {
  struct Case {
    const char* url;
    bool tls;
    const char* host;
    bool ip;
    int port;
    const char* target;
    const char* host_header;
    const char* authority;
  };
  const std::vector<Case> cases = {
      {"https://siem.example.com", true, "siem.example.com", false, 443, "/", "siem.example.com",
       "siem.example.com:443"},
      {"http://h:8088/services/collector?x=1", false, "h", false, 8088, "/services/collector?x=1",
       "h:8088", "h:8088"},
      {"https://127.0.0.1:443/in", true, "127.0.0.1", true, 443, "/in", "127.0.0.1",
       "127.0.0.1:443"},
      {"http://[::1]:9/x", false, "::1", true, 9, "/x", "[::1]:9", "[::1]:9"},
      {"HTTPS://H.example/", true, "H.example", false, 443, "/", "H.example", "H.example:443"},
      {"http://h/a%20b", false, "h", false, 80, "/a%20b", "h", "h:80"},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    hookd::Origin o = origin_of(c.url);
    CHECK(o.tls == c.tls);
    CHECK(o.host == c.host);
    CHECK(o.host_is_ip == c.ip);
    CHECK(o.port == c.port);
    CHECK(o.target == c.target);
    CHECK(o.host_header == c.host_header);
    CHECK(o.authority == c.authority);
  }
  for (const char* bad : {"ftp://h/", "https://user:pw@h/", "https://h:0/", "https://h:70000/",
                          "/relative", "https:///path"}) {
    INFO(bad);
    auto o = hookd::parse_origin(bad);
    REQUIRE_FALSE(o.ok());
    CHECK(o.error().message.rfind("url: ", 0) == 0);
  }
}

TEST_CASE("requests: Host and User-Agent, framing by the client, invalid parts refused") {
  const hookd::Origin origin = origin_of("https://siem.example.com:8443/in?t=1");
  hookd::OutgoingRequest req;
  req.headers = {{"Content-Type", "application/json"},
                 {"Content-Length", "999"},
                 {"Transfer-Encoding", "chunked"},
                 {"X-Twice", "1"},
                 {"X-Twice", "2"}};
  req.body = R"({"a":1})";
  auto encoded = hookd::encode_request(req, origin, "hookd/test");
  REQUIRE(encoded.ok());
  CHECK(wire(*encoded) ==
        "POST /in?t=1 HTTP/1.1\r\n"
        "Host: siem.example.com:8443\r\n"
        "User-Agent: hookd/test\r\n"
        "Content-Type: application/json\r\n"
        "X-Twice: 1\r\n"
        "X-Twice: 2\r\n"
        "Content-Length: 7\r\n"
        "\r\n"
        R"({"a":1})");

  hookd::OutgoingRequest own;
  own.method = "PURGE";  // not a verb Beast knows, but a token
  own.target = "/other";
  own.headers = {{"host", "override.example"}, {"user-agent", "mine"}};
  auto custom = hookd::encode_request(own, origin, "");
  REQUIRE(custom.ok());
  // The caller's Host and User-Agent replace the client's, spelled as given.
  CHECK(wire(*custom) ==
        "PURGE /other HTTP/1.1\r\nhost: override.example\r\nuser-agent: mine\r\n\r\n");

  hookd::OutgoingRequest head;
  head.method = "HEAD";
  auto h = hookd::encode_request(head, origin, "");
  REQUIRE(h.ok());
  CHECK(h->method() == http::verb::head);

  struct Bad {
    const char* what;
    hookd::OutgoingRequest request;
    const char* error;
  };
  auto with = [](std::string method, std::string target,
                 std::vector<std::pair<std::string, std::string>> headers) {
    hookd::OutgoingRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers = std::move(headers);
    return r;
  };
  const std::vector<Bad> bad = {
      {"a method with a space", with("GE T", "", {}), "request: invalid method 'GE T'"},
      {"an empty method", with("", "", {}), "request: invalid method ''"},
      {"a relative target", with("GET", "in", {}), "request: invalid target 'in'"},
      {"a target with a space", with("GET", "/a b", {}), "request: invalid target '/a b'"},
      {"a target with a newline", with("GET", "/a\nb", {}), "request: invalid target '/a\nb'"},
      {"a header name with a colon", with("GET", "", {{"X:Y", "1"}}),
       "request: invalid header 'X:Y'"},
      {"a header value with CR LF", with("GET", "", {{"X-Y", "1\r\nInjected: 1"}}),
       "request: invalid header 'X-Y'"},
  };
  for (const auto& b : bad) {
    INFO(b.what);
    auto r = hookd::encode_request(b.request, origin, "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == b.error);
  }
}

TEST_CASE("responses: status, lower-case header names in order, the body kept") {
  http::response<http::string_body> message;
  message.result(429);
  message.set("Retry-After", "7");
  message.insert("X-Multi", "a");
  message.insert("x-multi", "b");
  hookd::IncomingResponse r = hookd::decode_response(message, "slow down");
  CHECK(r.status == 429);
  CHECK(r.headers == std::vector<std::pair<std::string, std::string>>{
                         {"retry-after", "7"}, {"x-multi", "a"}, {"x-multi", "b"}});
  CHECK(r.body == "slow down");
  CHECK(r.header("RETRY-AFTER") == "7");
  CHECK(r.header("X-Multi") == "a");  // the first of several
  CHECK(r.header("missing").empty());
}
