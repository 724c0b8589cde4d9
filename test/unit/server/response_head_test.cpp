// serialize_response_head: the hand-written response head, as a table of
// exact bytes.
#include "hookd/server/response_head.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::HttpResponse;
using hookd::serialize_response_head;

namespace {

const std::string kServer = "Server: hookd/" HOOKD_VERSION "\r\n";

HttpResponse response(int status, std::string_view content_type = "application/json",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.content_type = content_type;
  r.headers = std::move(headers);
  return r;
}

}  // namespace

TEST_CASE("response heads: status line, framing and Connection per version", "[head]") {
  struct Case {
    const char* name;
    unsigned version;
    HttpResponse response;
    std::size_t body_size;
    bool keep_alive;
    std::string head;
    bool has_body;
  };
  std::vector<Case> cases = {
      {"1.1 keep-alive", 11, response(202), 9, true,
       "HTTP/1.1 202 Accepted\r\n" + kServer +
           "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n",
       true},
      {"1.1 close", 11, response(404), 0, false,
       "HTTP/1.1 404 Not Found\r\n" + kServer +
           "Content-Type: application/json\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       true},
      {"1.0 keep-alive", 10, response(200, "text/plain"), 2, true,
       "HTTP/1.0 200 OK\r\n" + kServer +
           "Content-Type: text/plain\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
       true},
      {"1.0 close", 10, response(200, ""), 2, false,
       "HTTP/1.0 200 OK\r\n" + kServer + "Content-Length: 2\r\n\r\n", true},
      {"204 has no body", 11, response(204, ""), 5, true,
       "HTTP/1.1 204 No Content\r\n" + kServer + "\r\n", false},
      {"304 has no body", 11, response(304, ""), 5, true,
       "HTTP/1.1 304 Not Modified\r\n" + kServer + "\r\n", false},
      {"1xx has no body", 11, response(100, ""), 0, true,
       "HTTP/1.1 100 Continue\r\n" + kServer + "\r\n", false},
      {"extra fields in order", 11,
       response(429, "application/json", {{"Retry-After", "1"}, {"X-Id", "a b"}}), 2, true,
       "HTTP/1.1 429 Too Many Requests\r\n" + kServer +
           "Content-Type: application/json\r\nRetry-After: 1\r\nX-Id: a b\r\n"
           "Content-Length: 2\r\n\r\n",
       true},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    std::string out = "left over from the previous response";
    CHECK(serialize_response_head(out, c.version, c.response, c.body_size, c.keep_alive) ==
          c.has_body);
    CHECK(out == c.head);
  }
}

TEST_CASE("response heads: fields that would split or reframe the response are left out",
          "[head]") {
  auto r = response(200, "text/plain\r\nX-Injected: 1",
                    {{"Content-Length", "99"},
                     {"transfer-encoding", "chunked"},
                     {"CONNECTION", "keep-alive"},
                     {"X-Split", "a\r\nX-Injected: 1"},
                     {"X-Lf\n", "v"},
                     {"Bad:Name", "v"},
                     {"", "v"},
                     {"X-Kept", "yes"}});
  std::string out;
  CHECK(serialize_response_head(out, 11, r, 4, true));
  CHECK(out == "HTTP/1.1 200 OK\r\n" + kServer + "X-Kept: yes\r\nContent-Length: 4\r\n\r\n");
}
