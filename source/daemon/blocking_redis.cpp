#include "hookd/daemon/blocking_redis.h"

#include <hiredis/hiredis.h>

#include <mutex>

#include "hookd/queue/redis_tls_bridge.h"

namespace hookd {

void BlockingRedis::ReplyFree::operator()(redisReply* reply) const {
  freeReplyObject(reply);
}

std::string blocking_reply_text(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR)
             ? std::string(r->str, r->len)
             : std::string();
}

struct BlockingRedis::Connection {
  RedisUrl url;
  std::shared_ptr<RedisTlsBridge> tls_bridge;
  std::chrono::milliseconds timeout;
  std::mutex mutex;
  redisContext* context = nullptr;

  ~Connection() { drop(); }

  void drop() {
    if (context) redisFree(context);
    context = nullptr;
  }

  // hiredis only sees the bridge's socket close; the bridge knows why.
  std::string with_bridge_reason(std::string why) const {
    std::string problem = tls_bridge ? tls_bridge->problem() : std::string();
    return problem.empty() ? why : "tls: " + problem;
  }

  // Under mutex. Connects (AUTH, SELECT) when not connected.
  Status ensure() {
    if (context && context->err == 0) return Ok{};
    drop();
    timeval tv{static_cast<long>(timeout.count() / 1000),
               static_cast<long>((timeout.count() % 1000) * 1000)};
    context = tls_bridge ? redisConnectUnixWithTimeout(tls_bridge->socket_path().c_str(), tv)
                         : redisConnectWithTimeout(url.host.c_str(), url.port, tv);
    if (context == nullptr || context->err) {
      std::string why = context ? context->errstr : "out of memory";
      drop();
      return make_error("redis " + url.describe() + ": " + with_bridge_reason(why));
    }
    redisSetTimeout(context, tv);
    if (!url.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!url.user.empty()) auth.push_back(url.user);
      auth.push_back(url.password);
      if (auto r = command(auth); !r) return r.error();
    }
    if (url.db != 0) {
      if (auto r = command({"SELECT", std::to_string(url.db)}); !r) return r.error();
    }
    return Ok{};
  }

  // Under mutex, connected. A broken connection is dropped (the next call
  // connects again).
  Result<Reply> command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) {
      std::string why = context->errstr;
      drop();
      return make_error("redis: " + with_bridge_reason(why));
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      return make_error("redis: " + blocking_reply_text(reply.get()));
    }
    return reply;
  }
};

BlockingRedis::BlockingRedis(RedisUrl url, std::shared_ptr<RedisTlsBridge> tls_bridge,
                             std::chrono::milliseconds timeout)
    : connection_(std::make_unique<Connection>()) {
  connection_->url = std::move(url);
  connection_->tls_bridge = std::move(tls_bridge);
  connection_->timeout = timeout;
}

BlockingRedis::~BlockingRedis() = default;

Result<BlockingRedis::Reply> BlockingRedis::call(const std::vector<std::string>& args) {
  Connection& c = *connection_;
  std::lock_guard lock(c.mutex);
  for (int attempt = 0;; ++attempt) {
    if (Status s = c.ensure(); !s) return s.error();
    auto reply = c.command(args);
    if (reply || c.context != nullptr || attempt > 0) return reply;
  }
}

}  // namespace hookd
