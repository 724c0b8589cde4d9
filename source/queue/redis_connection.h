// RedisConnection: one hiredis async connection on an io_context, with its
// handshake (AUTH, SELECT) and reconnection with back-off. A command that
// gets no answer within `answer_timeout` drops the connection, so a hung
// server looks like a lost one. Not thread-safe: use it on the io_context's
// thread only, and destroy it there (or after the io_context stopped).
// With a TLS bridge (rediss://) it connects to the bridge's socket, and a
// loss is reported with the bridge's reason. Private to source/queue.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hookd/queue/redis_url.h"

struct redisReply;

namespace boost::asio {
class io_context;
}

namespace hookd {

class RedisTlsBridge;

class RedisConnection {
 public:
  // nullptr: the connection was lost before the answer came.
  using ReplyHandler = std::function<void(const redisReply*)>;

  RedisConnection(boost::asio::io_context& io, RedisUrl url,
                  std::shared_ptr<RedisTlsBridge> tls_bridge, std::string name,
                  std::chrono::milliseconds answer_timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // After each successful handshake; commands sent in it go first.
  void on_ready(std::function<void()> ready);
  // Each time connecting fails or the connection is lost (and the next
  // attempt is scheduled), with the reason.
  void on_lost(std::function<void(const std::string& why)> lost);

  void start();
  void stop();  // frees the context: pending handlers get nullptr

  bool ready() const;
  // Why the connection is not ready (empty while it is).
  std::string problem() const;

  // Queues the command when ready; false (handler never called) otherwise.
  bool send(const std::vector<std::string>& args, ReplyHandler handler);

  // Drops the connection now (e.g. the handshake's checks failed); the
  // reconnect loop starts over after the back-off.
  void reset(const std::string& why);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The text of a status, string or error reply; empty for other types.
std::string reply_text(const redisReply* reply);
bool reply_is_error(const redisReply* reply);

}  // namespace hookd
