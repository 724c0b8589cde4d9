#include "stream_tail.h"

#include <hiredis/hiredis.h>

#include "group_reader.h"
#include "hookd/core/log.h"

namespace hookd {

namespace {
constexpr int kReadCount = 1000;
constexpr int kBlockMs = 1000;
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
}  // namespace

StreamTail::StreamTail(boost::asio::io_context& io, const RedisQueueOptions& options,
                       std::string stream, QueueShared& shared, Deliver deliver)
    : stream_(std::move(stream)),
      shared_(shared),
      deliver_(std::move(deliver)),
      // The answer may take the whole BLOCK: it is no sign of a hung server.
      reader_(io, options.url, options.tls_bridge, "tail",
              options.answer_timeout + std::chrono::milliseconds(kBlockMs)),
      retry_timer_(io) {}

void StreamTail::start() {
  reader_.on_ready([this] {
    reading_ = false;
    read_next();
  });
  reader_.on_lost([this](const std::string&) { reading_ = false; });
  reader_.start();
}

void StreamTail::stop() {
  stopped_ = true;
  *alive_ = false;
  retry_timer_.cancel();
  reader_.stop();
}

void StreamTail::read_next() {
  if (stopped_ || reading_ || !reader_.ready()) return;
  reading_ = reader_.send({"XREAD", "COUNT", std::to_string(kReadCount), "BLOCK",
                           std::to_string(kBlockMs), "STREAMS", stream_, last_id_},
                          [this, alive = alive_](const redisReply* reply) {
                            if (!*alive) return;
                            reading_ = false;
                            on_read(reply);
                          });
}

void StreamTail::on_read(const redisReply* reply) {
  if (reply == nullptr) return;  // lost: on_ready reads on from last_id_
  if (reply->type == REDIS_REPLY_ERROR) {
    log::warn("redis tail read failed", {{"error", std::string(reply->str, reply->len)}});
    retry_timer_.expires_after(kRetryAfter);
    retry_timer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
      if (*alive) read_next();
    });
    return;
  }
  std::vector<Event> events;
  // nil: nothing new within the BLOCK.
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
    const redisReply* stream = reply->element[0];  // [name, entries]
    if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2) {
      const redisReply* list = stream->element[1];
      if (list->type == REDIS_REPLY_ARRAY && list->elements > 0) {
        // From the last entry read, whether or not it is an event.
        const redisReply* last = list->element[list->elements - 1];
        if (last->type == REDIS_REPLY_ARRAY && last->elements > 0 &&
            last->element[0]->type == REDIS_REPLY_STRING) {
          last_id_.assign(last->element[0]->str, last->element[0]->len);
        }
      }
      for (StreamEntry& entry : stream_entries(list)) {
        // A replayed dead letter holds no event.
        if (entry.dead_letter.empty()) events.push_back(std::move(entry.event));
      }
    }
  }
  if (!events.empty()) {
    {
      std::lock_guard lock(shared_.mutex);
      for (const Event& event : events)
        shared_.recent.remember(event);
    }
    deliver_(events);
  }
  read_next();
}

}  // namespace hookd
