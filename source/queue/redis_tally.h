// RedisTally: the SharedTally of RedisQueue. Each key is the hash
// <prefix>tally:<key>: add() is HINCRBY, set() HSET, a node's own share the
// field <field>@<node>. Changes wait in memory until the queue thread's
// flush() sends them (a change whose connection is lost before Redis
// answered is not sent again: the figures are for people, not for
// delivery); flush() also fetches every watched key (HGETALL) for read().
// Thread-safe; flush() on the queue thread only. Private to source/queue.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "hookd/journal/shared_tally.h"

namespace hookd {

class RedisConnection;

class RedisTally : public SharedTally, public std::enable_shared_from_this<RedisTally> {
 public:
  RedisTally(std::string key_prefix, std::string node_id);

  void add(const std::string& key, const std::string& field, std::int64_t by) override;
  void set(const std::string& key, const std::string& field, const std::string& value) override;
  void set_own_share(const std::string& key, const std::string& field,
                     std::uint64_t value) override;
  void watch(const std::string& key) override;
  std::map<std::string, std::string> read(const std::string& key) const override;

  void flush(RedisConnection& commands);

 private:
  using Fields = std::map<std::string, std::string>;
  void queue(std::vector<std::string> command);
  void fetched(const std::string& key, Fields fields);

  const std::string prefix_;
  const std::string node_;
  mutable std::mutex mutex_;
  std::vector<std::vector<std::string>> pending_;
  std::set<std::string> watched_;
  std::map<std::string, Fields> fetched_;
};

// A hash's fields with every "<field>@<node>" share summed into <field>
// (and left out itself). Shares that are not whole numbers count 0.
std::map<std::string, std::string> sum_node_shares(std::map<std::string, std::string> fields);

}  // namespace hookd
