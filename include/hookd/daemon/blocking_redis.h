// BlockingRedis: one blocking hiredis connection of its own (AUTH, SELECT;
// through the TLS bridge's socket with rediss://), made on first use and
// again when a call finds it broken. For threads that may block (the API
// store's writer and refresh threads, the attempt feed), never a reactor.
// Thread-safe: one call at a time, behind a mutex.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/queue/redis_url.h"

struct redisReply;

namespace hookd {

class RedisTlsBridge;

class BlockingRedis {
 public:
  struct ReplyFree {
    void operator()(redisReply* reply) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyFree>;

  BlockingRedis(RedisUrl url, std::shared_ptr<RedisTlsBridge> tls_bridge,
                std::chrono::milliseconds timeout);
  ~BlockingRedis();
  BlockingRedis(const BlockingRedis&) = delete;
  BlockingRedis& operator=(const BlockingRedis&) = delete;

  // Connects if need be; a connection found broken is tried once more. An
  // error reply is an error.
  Result<Reply> call(const std::vector<std::string>& args);

 private:
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

// The text of a string, status or error reply; empty for other types.
std::string blocking_reply_text(const redisReply* reply);

}  // namespace hookd
