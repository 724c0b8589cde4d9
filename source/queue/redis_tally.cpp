#include "redis_tally.h"

#include <hiredis/hiredis.h>

#include <charconv>

#include "redis_connection.h"

namespace hookd {

std::map<std::string, std::string> sum_node_shares(std::map<std::string, std::string> fields) {
  std::map<std::string, std::uint64_t> sums;
  for (auto it = fields.begin(); it != fields.end();) {
    auto at = it->first.rfind('@');
    if (at == std::string::npos) {
      ++it;
      continue;
    }
    std::uint64_t share = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), share);
    if (ec != std::errc() || end != text.data() + text.size()) share = 0;
    sums[it->first.substr(0, at)] += share;
    it = fields.erase(it);
  }
  for (const auto& [field, sum] : sums)
    fields[field] = std::to_string(sum);
  return fields;
}

RedisTally::RedisTally(std::string key_prefix, std::string node_id)
    : prefix_(std::move(key_prefix) + "tally:"), node_(std::move(node_id)) {}

void RedisTally::add(const std::string& key, const std::string& field, std::int64_t by) {
  queue({"HINCRBY", prefix_ + key, field, std::to_string(by)});
}

void RedisTally::set(const std::string& key, const std::string& field, const std::string& value) {
  queue({"HSET", prefix_ + key, field, value});
}

void RedisTally::set_own_share(const std::string& key, const std::string& field,
                               std::uint64_t value) {
  queue({"HSET", prefix_ + key, field + "@" + node_, std::to_string(value)});
}

void RedisTally::watch(const std::string& key) {
  std::lock_guard lock(mutex_);
  watched_.insert(key);
}

std::map<std::string, std::string> RedisTally::read(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = fetched_.find(key);
  return it == fetched_.end() ? Fields{} : it->second;
}

void RedisTally::queue(std::vector<std::string> command) {
  std::lock_guard lock(mutex_);
  pending_.push_back(std::move(command));
}

void RedisTally::fetched(const std::string& key, Fields fields) {
  std::lock_guard lock(mutex_);
  fetched_[key] = sum_node_shares(std::move(fields));
}

void RedisTally::flush(RedisConnection& commands) {
  if (!commands.ready()) return;
  std::vector<std::vector<std::string>> sending;
  std::set<std::string> watched;
  {
    std::lock_guard lock(mutex_);
    sending.swap(pending_);
    watched = watched_;
  }
  for (const auto& command : sending)
    commands.send(command, nullptr);
  // After the changes on the same connection: a fetch shows this node's own.
  for (const auto& key : watched) {
    commands.send({"HGETALL", prefix_ + key},
                  [self = shared_from_this(), key](const redisReply* r) {
                    if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return;
                    Fields fields;
                    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
                      fields[reply_text(r->element[i])] = reply_text(r->element[i + 1]);
                    }
                    self->fetched(key, std::move(fields));
                  });
  }
}

}  // namespace hookd
