#include "hookd/daemon/redis_object_backing.h"

#include <hiredis/hiredis.h>

#include <charconv>

namespace hookd {

namespace {

std::uint64_t version_of(const redisReply* r) {
  std::uint64_t v = 0;
  if (r && r->type == REDIS_REPLY_INTEGER) return static_cast<std::uint64_t>(r->integer);
  std::string text = blocking_reply_text(r);
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

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
    : redis_(std::move(url), std::move(tls_bridge), timeout),
      hash_(key_prefix + "api"),
      version_key_(key_prefix + "api:version"),
      // RedisQueue's stream (redis_queue.cpp names it the same way).
      events_key_(key_prefix + "events"),
      endpoint_group_prefix_(std::move(endpoint_group_prefix)) {}

RedisObjectBacking::~RedisObjectBacking() = default;

Result<api::ObjectBacking::Snapshot> RedisObjectBacking::load() {
  auto reply = redis_.call({"EVAL", kLoad, "2", hash_, version_key_});
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
    snapshot.objects.emplace_back(blocking_reply_text(pairs->element[i]),
                                  blocking_reply_text(pairs->element[i + 1]));
  }
  return snapshot;
}

Status RedisObjectBacking::apply(const std::vector<Write>& writes) {
  if (writes.empty()) return Ok{};
  std::vector<std::string> args{
      "EVAL", kApply, "3", hash_, version_key_, events_key_, endpoint_group_prefix_};
  for (const Write& w : writes) {
    args.insert(args.end(), {w.remove ? "r" : "w", w.name, w.content});
  }
  auto reply = redis_.call(args);
  if (!reply) return reply.error();
  return Ok{};
}

Result<std::uint64_t> RedisObjectBacking::version() {
  auto reply = redis_.call({"GET", version_key_});
  if (!reply) return reply.error();
  return version_of(reply->get());
}

}  // namespace hookd
