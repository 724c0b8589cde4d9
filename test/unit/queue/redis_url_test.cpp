// parse_redis_url: what --queue accepts, and that no error or description
// repeats the password.
#include <catch2/catch.hpp>

#include "hookd/queue/redis_url.h"

using namespace hookd;

TEST_CASE("redis urls parse into host, port, db and credentials") {
  struct Row {
    const char* text;
    const char* host;
    int port;
    int db;
    const char* user;
    const char* password;
    bool tls;
  };
  Row rows[] = {
      {"redis://127.0.0.1:6380", "127.0.0.1", 6380, 0, "", "", false},
      {"redis://localhost", "localhost", 6379, 0, "", "", false},
      {"redis://127.0.0.1:6379/3", "127.0.0.1", 6379, 3, "", "", false},
      {"redis://:s3cret@127.0.0.1:6379", "127.0.0.1", 6379, 0, "", "s3cret", false},
      {"redis://hookd:p%40ss@127.0.0.1:7000/1", "127.0.0.1", 7000, 1, "hookd", "p@ss", false},
      {"redis://[::1]:6379", "::1", 6379, 0, "", "", false},
      {"rediss://127.0.0.1:6390", "127.0.0.1", 6390, 0, "", "", true},
  };
  for (const Row& row : rows) {
    INFO(row.text);
    auto url = parse_redis_url(row.text);
    REQUIRE(url.ok());
    CHECK(url->host == row.host);
    CHECK(url->port == row.port);
    CHECK(url->db == row.db);
    CHECK(url->user == row.user);
    CHECK(url->password == row.password);
    CHECK(url->tls == row.tls);
  }
}

TEST_CASE("bad redis urls are refused without quoting the password") {
  const char* bad[] = {
      "http://127.0.0.1:6379",        "redis://",
      "redis://127.0.0.1:0",          "redis://127.0.0.1:70000",
      "redis://127.0.0.1:6379/x",     "redis://127.0.0.1:6379/1/2",
      "redis://127.0.0.1:6379/?db=1", "redis://:hunter2@127.0.0.1:6379/db",
      "not a url :hunter2@",
  };
  for (const char* text : bad) {
    INFO(text);
    auto url = parse_redis_url(text);
    REQUIRE_FALSE(url.ok());
    CHECK(url.error().message.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("a redis url's description names the user but never the password") {
  auto url = parse_redis_url("redis://hookd:hunter2@127.0.0.1:6379/2");
  REQUIRE(url.ok());
  CHECK(url->describe() == "redis://hookd@127.0.0.1:6379/2");
  auto v6 = parse_redis_url("redis://:hunter2@[::1]:6380");
  REQUIRE(v6.ok());
  CHECK(v6->describe() == "redis://[::1]:6380/0");
}
