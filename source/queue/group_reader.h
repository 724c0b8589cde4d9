// GroupReader: this node's side of one consumer group. It reads new entries
// (XREADGROUP, blocking, on a connection of its own so that appends never
// queue behind it), claims entries other nodes left idle (XAUTOCLAIM, with
// dead-lettering of those delivered too often) and keeps the entries this
// node still works on from looking idle (heartbeat). Everything it is handed
// goes to the consumer's ConsumerBuffer. Not thread-safe: the queue thread
// only. Private to source/queue.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "hookd/queue/redis_queue.h"
#include "queue_metrics.h"
#include "queue_shared.h"
#include "redis_connection.h"

namespace hookd {

struct StreamKeys {
  std::string events;   // the stream
  std::string dead;     // the dead-letter stream
  std::string ids;      // prefix of the dedupe keys
  std::string retries;  // prefix of each group's retry hash
};

class GroupReader {
 public:
  GroupReader(boost::asio::io_context& io, const RedisQueueOptions& options, StreamKeys keys,
              std::string group, RedisConnection& commands, QueueShared& shared,
              QueueMetrics& metrics);

  // The command that makes sure the group exists (new groups start at the
  // stream's end, as a new local consumer does).
  std::vector<std::string> create_command() const;

  void start();
  void stop();
  void wake();  // the consumer finished some entries: there may be room now

 private:
  void read_next();
  void on_read(const redisReply* reply);
  void hand_over_with_notes(std::vector<StreamEntry> entries);
  // Acknowledges the replays meant for other groups; returns the rest.
  std::vector<StreamEntry> ours(std::vector<StreamEntry> entries);
  void claim();
  void heartbeat();
  void arm(boost::asio::steady_timer& timer, std::chrono::milliseconds after,
           void (GroupReader::*)());

  const RedisQueueOptions& options_;
  StreamKeys keys_;
  std::string group_;
  RedisConnection& commands_;
  QueueShared& shared_;
  QueueMetrics& metrics_;
  RedisConnection reader_;
  boost::asio::steady_timer room_timer_;
  boost::asio::steady_timer claim_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  std::string history_from_ = "0";  // own pending entries first; then ">"
  std::string claim_from_ = "0-0";
  bool first_connection_ = true;
  bool reading_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// [[id, [field, value, ...]], ...] -> entries; skips entries that are gone
// (nil) or neither events nor replayed dead letters.
std::vector<StreamEntry> stream_entries(const redisReply* list);

}  // namespace hookd
