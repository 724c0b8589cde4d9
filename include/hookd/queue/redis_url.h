// RedisUrl: where the Redis Streams backend connects, parsed from --queue
// (redis://[user:password@]host:port[/db]). A value type; the password never
// appears in what describe() returns, so the parsed URL is safe to log.
#pragma once

#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // empty: AUTH with the password only (or none)
  std::string password;  // empty: no AUTH
  bool tls = false;      // rediss://

  // "redis://host:port/db" with the user, never the password.
  std::string describe() const;
};

// Userinfo is percent-decoded. The error names what is wrong, without
// repeating the password.
Result<RedisUrl> parse_redis_url(std::string_view text);

}  // namespace hookd
