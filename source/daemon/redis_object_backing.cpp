#include "hookd/daemon/redis_object_backing.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <mutex>

#include "hookd/queue/redis_tls_bridge.h"

namespace hookd {

namespace {

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

std::string text_of(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
               r->type == REDIS_REPLY_ERROR)
             ? std::string(r->str, r->len)
             : std::string();
}

std::uint64_t version_of(const redisReply* r) {
  std::uint64_t v = 0;
  if (r && r->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(r->integer);
  std::string text = text_of(r);
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

struct RedisObjectBacking::Connection {
  RedisUrl url;
  std::shared_ptr<RedisTlsBridge> tls_bridge;
  std::string hash;
  std::string version_key;
  std::string events_key;
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

  // Under mutex, connected. An error reply is an error; a broken
  // connection is dropped (the next call connects again).
  Result<ReplyPtr> command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    ReplyPtr reply(static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) {
      std::string why = context->errstr;
      drop();
      return make_error("redis: " + with_bridge_reason(why));
    }
    if (reply->type == REDIS_REPLY_ERROR) return make_error("redis: " + text_of(reply.get()));
    return reply;
  }

  // Connects if need be; a connection found broken is tried once more.
  Result<ReplyPtr> call(const std::vector<std::string>& args) {
    std::lock_guard lock(mutex);
    for (int attempt = 0;; ++attempt) {
      if (Status s = ensure(); !s) return s.error();
      auto reply = command(args);
      if (reply || context != nullptr || attempt > 0) return reply;
    }
  }
};

// Both at once, so the version names exactly the objects loaded.
constexpr const char* kLoad = R"lua(
return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1])}
)lua";

// KEYS: the hash, the version, the event stream. ARGV: the endpoint groups'
// prefix, then op ("w" or "r"), name, content, per write. Returns the new
// version. A new endpoint's consumer group is made in the same script as its
// object, at the stream's end: a message appended once any node can see the
// endpoint is in the group, and none before it (as a new local consumer
// starts at the newest event). An existing group (BUSYGROUP, an endpoint
// written again) stays where it is.
constexpr const char* kApply = R"lua(
for i = 2, #ARGV, 3 do
  if ARGV[i] == 'w' then
    local added = redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
    local id = string.match(ARGV[i + 1], '^endpoints/(.+)%.json$')
    if added == 1 and id then
      redis.pcall('XGROUP', 'CREATE', KEYS[3], ARGV[1] .. id, '$', 'MKSTREAM')
    end
  else
    redis.call('HDEL', KEYS[1], ARGV[i + 1])
  end
end
return redis.call('INCR', KEYS[2])
)lua";

RedisObjectBacking::RedisObjectBacking(RedisUrl url, std::shared_ptr<RedisTlsBridge> tls_bridge,
                                       std::string key_prefix, std::string endpoint_group_prefix,
                                       std::chrono::milliseconds timeout)
    : connection_(std::make_unique<Connection>()),
      endpoint_group_prefix_(std::move(endpoint_group_prefix)) {
  connection_->url = std::move(url);
  connection_->tls_bridge = std::move(tls_bridge);
  connection_->hash = key_prefix + "api";
  connection_->version_key = key_prefix + "api:version";
  // RedisQueue's stream (redis_queue.cpp names it the same way).
  connection_->events_key = key_prefix + "events";
  connection_->timeout = timeout;
}

RedisObjectBacking::~RedisObjectBacking() = default;

Result<api::ObjectBacking::Snapshot> RedisObjectBacking::load() {
  auto reply = connection_->call({"EVAL", kLoad, "2", connection_->hash, connection_->version_key});
  if (!reply) return reply.error();
  const redisReply* r = reply->get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    return make_error("redis: unexpected answer loading the API objects");
  }
  Snapshot snapshot;
  snapshot.version = version_of(r->element[0]);
  const redisReply* pairs = r->element[1];
  for (std::size_t i = 0; i + 1 < pairs->elements; i += 2) {
    snapshot.objects.emplace_back(text_of(pairs->element[i]), text_of(pairs->element[i + 1]));
  }
  return snapshot;
}

Status RedisObjectBacking::apply(const std::vector<Write>& writes) {
  if (writes.empty()) return Ok{};
  std::vector<std::string> args{"EVAL",
                                kApply,
                                "3",
                                connection_->hash,
                                connection_->version_key,
                                connection_->events_key,
                                endpoint_group_prefix_};
  for (const Write& w : writes) {
    args.insert(args.end(), {w.remove ? "r" : "w", w.name, w.content});
  }
  auto reply = connection_->call(args);
  if (!reply) return reply.error();
  return Ok{};
}

Result<std::uint64_t> RedisObjectBacking::version() {
  auto reply = connection_->call({"GET", connection_->version_key});
  if (!reply) return reply.error();
  return version_of(reply->get());
}

}  // namespace hookd
