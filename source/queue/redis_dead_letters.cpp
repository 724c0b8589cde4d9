#include "redis_dead_letters.h"

#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "redis_connection.h"
#include "redis_scripts.h"

namespace hookd {

RedisDeadLetters::RedisDeadLetters(boost::asio::io_context& io, RedisConnection& commands,
                                   DeadLetterKeys keys)
    : io_(io), commands_(commands), keys_(std::move(keys)) {}

void RedisDeadLetters::add(const std::string& consumer, std::vector<Line> lines, Done done) {
  std::vector<std::string> args{"EVAL",
                                redis_scripts::kDeadLettersChange,
                                "2",
                                keys_.prefix + consumer,
                                keys_.tally + consumer,
                                "add"};
  for (Line& line : lines) {
    args.push_back(std::move(line.id));
    args.push_back(std::move(line.text));
  }
  run(std::move(args), std::move(done));
}

void RedisDeadLetters::remove(const std::string& consumer, std::vector<std::string> ids) {
  if (ids.empty()) return;
  std::vector<std::string> args{"EVAL",
                                redis_scripts::kDeadLettersChange,
                                "2",
                                keys_.prefix + consumer,
                                keys_.tally + consumer,
                                "remove"};
  args.insert(args.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
  run(std::move(args), nullptr);
}

// The list and the tally hash its scripts keep the count in: every node
// that sees the endpoint deleted sends this, and DEL of keys already gone
// is harmless.
void RedisDeadLetters::forget(const std::string& consumer) {
  run({"DEL", keys_.prefix + consumer, keys_.tally + consumer}, nullptr);
}

void RedisDeadLetters::replay(const std::string& consumer, std::optional<std::int64_t> since_ms,
                              std::optional<std::int64_t> until_ms, Done done) {
  run({"EVAL", redis_scripts::kDeadLettersReplay, "3", keys_.prefix + consumer,
       keys_.tally + consumer, keys_.events, consumer,
       since_ms ? std::to_string(*since_ms) : std::string(),
       until_ms ? std::to_string(*until_ms) : std::string(), std::to_string(keys_.max_len)},
      std::move(done));
}

void RedisDeadLetters::run(std::vector<std::string> args, Done done) {
  boost::asio::post(
      io_, [self = shared_from_this(), args = std::move(args), done = std::move(done)]() mutable {
        auto answer = [done](const redisReply* r) {
          if (!done) return;
          if (r == nullptr) return done(make_error("redis: connection lost before it answered"));
          if (reply_is_error(r)) return done(make_error("redis: " + reply_text(r)));
          if (r->type != REDIS_REPLY_INTEGER) return done(make_error("redis: unexpected answer"));
          done(static_cast<std::size_t>(r->integer));
        };
        if (!self->commands_.ready() || !self->commands_.send(args, answer)) {
          std::string why = self->commands_.problem();
          if (done)
            done(make_error("redis: " + (why.empty() ? std::string("not connected") : why)));
        }
      });
}

}  // namespace hookd
