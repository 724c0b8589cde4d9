// RedisQueue: the Journal on Redis Streams, so that several hookd nodes
// share one queue. Every event is one entry of one stream; each consumer
// (hooks, each endpoint) is a consumer group and each node a consumer in it,
// so a node is handed its share of every consumer's work. A node that dies
// leaves its entries pending; the others claim them once they have been
// idle for claim_idle. Thread-safe: the Journal calls may come from any
// thread; Redis is spoken to on the queue's own thread only, never blocking
// the caller.
//
// What the Journal interface means here: seqs (read_for, cursor, commit)
// count per consumer on this node, from 1, and commit(name, seq)
// acknowledges (XACK) that consumer's entries up to seq. read() answers
// nothing (no node holds the stream in seq order); lookup() answers from the
// recent events (lookup_cache) this node appended, was handed or, once a
// shared-events listener is set, read from the whole stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "hookd/core/result.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/shared_dead_letters.h"
#include "hookd/journal/shared_tally.h"
#include "hookd/queue/redis_url.h"

namespace hookd {

class RedisTlsBridge;

struct RedisQueueOptions {
  RedisUrl url;
  // rediss://: every connection goes through it (set once the data dir exists).
  std::shared_ptr<RedisTlsBridge> tls_bridge;
  std::string node_id;  // this node's consumer name in every group
  std::string key_prefix = "hookd:";
  std::chrono::milliseconds claim_idle{30000};
  std::uint64_t max_deliveries = 10;  // beyond: the dead-letter stream
  std::uint64_t max_len = 1000000;    // XADD MAXLEN ~ bound
  std::chrono::seconds dedupe_window{86400};
  std::string require_aof = "off";  // off | everysec | always
  std::chrono::milliseconds answer_timeout{5000};
  std::size_t max_held = 1024;        // per consumer: handed over, not finished
  std::size_t lookup_cache = 100000;  // events lookup() remembers
  std::chrono::milliseconds trim_every{5000};
};

// "host-pid": the default --node-id.
std::string default_node_id();

class RedisQueue : public Journal {
 public:
  // Starts the queue thread and connects in the background: Redis need not
  // be up yet (appends answer `full` until it is).
  static Result<std::unique_ptr<RedisQueue>> open(RedisQueueOptions options);
  ~RedisQueue() override;

  void append(std::vector<Event> events, AppendCallback done) override;
  std::optional<StoredEvent> lookup(std::string_view id) override;
  Result<std::vector<StoredEvent>> read(std::uint64_t after_seq, std::size_t max) override;
  Result<std::vector<StoredEvent>> read_for(std::string_view consumer, std::uint64_t after_seq,
                                            std::size_t max) override;
  std::uint64_t register_consumer(const std::string& name) override;
  std::uint64_t cursor(std::string_view name) const override;
  void commit(std::string_view name, std::uint64_t seq) override;
  void unregister_consumer(const std::string& name) override;
  void retry_scheduled(std::string_view consumer, std::uint64_t seq, std::size_t failures,
                       std::int64_t due_unix_ms) override;
  void on_durable(std::function<void(std::uint64_t last_seq)> listener) override;
  // Starts tailing the whole stream (StreamTail) at the first listener.
  void on_shared_events(std::function<void(const std::vector<Event>&)> listener) override;
  JournalStats stats() const override;
  void close() override;

  // For /readyz: connected, why not, the node id, what is held.
  std::string status_json() const;

  // Figures every node shares (GET /v1/endpoints' counters), in Redis
  // beside the queue; usable after close() (changes are then kept, unsent).
  std::shared_ptr<SharedTally> shared_tally() const;
  // Every endpoint's dead letters, in Redis beside the queue (see
  // SharedDeadLetters); calls made after close() get no answer.
  std::shared_ptr<SharedDeadLetters> shared_dead_letters() const;

  struct State;

 private:
  explicit RedisQueue(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace hookd
