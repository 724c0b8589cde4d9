// StreamTail: this node's reader of the whole events stream, without a
// group (XREAD, blocking, on a connection of its own so that appends never
// queue behind it), so that every node sees every node's events, not only
// its share: each is remembered for lookup() and handed to `deliver`. It
// starts at the oldest entry the stream still holds and, when the
// connection comes back, resumes after the last entry it read (entries
// trimmed meanwhile are skipped). Not thread-safe: the queue thread only.
// Private to source/queue.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/queue/redis_queue.h"
#include "queue_shared.h"
#include "redis_connection.h"

namespace hookd {

class StreamTail {
 public:
  using Deliver = std::function<void(const std::vector<Event>&)>;

  StreamTail(boost::asio::io_context& io, const RedisQueueOptions& options, std::string stream,
             QueueShared& shared, Deliver deliver);

  void start();
  void stop();

 private:
  void read_next();
  void on_read(const redisReply* reply);

  std::string stream_;
  QueueShared& shared_;
  Deliver deliver_;
  RedisConnection reader_;
  boost::asio::steady_timer retry_timer_;
  std::string last_id_ = "0";  // the oldest entry still held comes first
  bool reading_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hookd
