// parse_listen_address: the --listen forms, as a table.
#include "hookd/server/listen_address.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using hookd::parse_listen_address;

TEST_CASE("listen addresses: host:port, [v6]:port and :port", "[listen]") {
  struct Case {
    std::string text;
    std::string host;
    unsigned short port;
  };
  std::vector<Case> cases = {
      {"127.0.0.1:8080", "127.0.0.1", 8080},
      {"0.0.0.0:0", "0.0.0.0", 0},
      {":9000", "0.0.0.0", 9000},
      {"localhost:65535", "localhost", 65535},
      {"[::1]:443", "::1", 443},
      {"[::]:0", "::", 0},
      {"127.0.0.1:00080", "127.0.0.1", 80},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto address = parse_listen_address(c.text);
    REQUIRE(address.ok());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
  }
}

TEST_CASE("listen addresses: what is refused, and the error quotes the text", "[listen]") {
  struct Case {
    std::string text;
    std::string says;
  };
  std::vector<Case> cases = {
      {"nonsense", "expected host:port"},
      {"", "expected host:port"},
      {"127.0.0.1:", "bad port"},
      {"127.0.0.1:65536", "bad port"},
      {"127.0.0.1:123456", "bad port"},
      {"127.0.0.1:-1", "bad port"},
      {"127.0.0.1:8o", "bad port"},
      {"::1:80", "[addr]:port"},
      {"[::1]80", "[v6-address]:port"},
      {"[::1", "[v6-address]:port"},
      {"[::1]:", "bad port"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto address = parse_listen_address(c.text);
    REQUIRE_FALSE(address.ok());
    CHECK(address.error().message.find(c.says) != std::string::npos);
    CHECK(address.error().message.find("'" + c.text + "'") != std::string::npos);
  }
}
