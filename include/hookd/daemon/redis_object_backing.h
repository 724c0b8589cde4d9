// RedisObjectBacking: the Svix API's objects in Redis with --queue, so that
// every node serves the same applications, event types and endpoints. One
// hash (<prefix>api: object name -> store_codec text) and a version counter
// (<prefix>api:version) that every change moves on in the same MULTI; nodes
// poll the counter. Blocking calls on a BlockingRedis of its own: the API
// store calls it from its writer and refresh threads only. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "hookd/api/object_backing.h"
#include "hookd/daemon/blocking_redis.h"
#include "hookd/queue/redis_url.h"

namespace hookd {

class RedisTlsBridge;

class RedisObjectBacking : public api::ObjectBacking {
 public:
  // A new endpoints/<id>.json object gets its consumer group
  // <endpoint_group_prefix><id> in the same step (see kApply).
  RedisObjectBacking(RedisUrl url, std::shared_ptr<RedisTlsBridge> tls_bridge,
                     std::string key_prefix, std::string endpoint_group_prefix,
                     std::chrono::milliseconds timeout);
  ~RedisObjectBacking() override;

  Result<Snapshot> load() override;
  Status apply(const std::vector<Write>& writes) override;
  Result<std::uint64_t> version() override;

 private:
  BlockingRedis redis_;
  std::string hash_;
  std::string version_key_;
  std::string events_key_;
  std::string endpoint_group_prefix_;
};

}  // namespace hookd
