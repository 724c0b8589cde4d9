// RedisDeadLetters: the SharedDeadLetters of RedisQueue. A consumer's list is
// the hash <prefix>dead-letters:<consumer>; the scripts (redis_scripts.h)
// keep its size in the consumer's tally hash. Commands go out on the queue's
// command connection, on the queue thread; answers come back there. Not
// connected: the callbacks get an error at once. Thread-safe (every call
// posts to the queue thread). Private to source/queue.
#pragma once

#include <memory>
#include <string>

#include "hookd/journal/shared_dead_letters.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class RedisConnection;

struct DeadLetterKeys {
  std::string prefix;  // of each consumer's list
  std::string tally;   // prefix of each consumer's tally hash (RedisTally)
  std::string events;  // the stream replays go to
  std::uint64_t max_len = 0;
};

class RedisDeadLetters : public SharedDeadLetters,
                         public std::enable_shared_from_this<RedisDeadLetters> {
 public:
  // `commands` must outlive every posted call (the queue thread's own).
  RedisDeadLetters(boost::asio::io_context& io, RedisConnection& commands, DeadLetterKeys keys);

  void add(const std::string& consumer, std::vector<Line> lines, Done done) override;
  void remove(const std::string& consumer, std::vector<std::string> ids) override;
  void forget(const std::string& consumer) override;
  void replay(const std::string& consumer, std::optional<std::int64_t> since_ms,
              std::optional<std::int64_t> until_ms, Done done) override;

 private:
  void run(std::vector<std::string> args, Done done);

  boost::asio::io_context& io_;
  RedisConnection& commands_;
  const DeadLetterKeys keys_;
};

}  // namespace hookd
