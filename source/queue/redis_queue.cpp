#include "hookd/queue/redis_queue.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstring>
#include <future>
#include <map>
#include <thread>

#include "group_reader.h"
#include "hookd/core/log.h"
#include "hookd/queue/stream_entry.h"
#include "queue_metrics.h"
#include "queue_shared.h"
#include "redis_connection.h"
#include "redis_dead_letters.h"
#include "redis_scripts.h"
#include "redis_tally.h"
#include "stream_tail.h"

namespace hookd {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kAckChunk = 1000;  // ids per script call (Lua's unpack has a limit)
constexpr std::chrono::milliseconds kTallyEvery{250};
constexpr const char* kHeldGauge = "hookd_queue_held_entries";
constexpr const char* kHeldHelp = "Entries a consumer was handed on this node and has not finished";

// Nothing appended: 503 for the caller (the codes journal.h maps to HTTP).
AppendResult refused(std::string message) {
  return AppendResult{.code = AppendResult::Code::full,
                      .message = std::move(message),
                      .retry_after = std::chrono::milliseconds{0},
                      .duplicate = {}};
}
}  // namespace

std::string default_node_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "hookd");
  return std::string(host) + "-" + std::to_string(::getpid());
}

// What the operator asked of Redis's persistence against what it has; empty
// when it is enough.
std::string aof_problem(const std::string& required, const std::string& appendonly,
                        const std::string& appendfsync) {
  if (required == "off") return {};
  if (appendonly != "yes")
    return "redis has appendonly " + appendonly + ", --queue-require-aof " + required +
           " needs yes";
  if (required == "always" && appendfsync != "always") {
    return "redis has appendfsync " + appendfsync + ", --queue-require-aof always needs always";
  }
  if (required == "everysec" && appendfsync == "no") {
    return "redis has appendfsync no, --queue-require-aof everysec needs everysec or always";
  }
  return {};
}

struct RedisQueue::State {
  explicit State(RedisQueueOptions o)
      : options(std::move(o)),
        keys{options.key_prefix + "events", options.key_prefix + "dead",
             options.key_prefix + "id:", options.key_prefix + "retry:"},
        work(asio::make_work_guard(io)),
        commands(io, options.url, options.tls_bridge, "commands", options.answer_timeout),
        trim_timer(io),
        tally_timer(io),
        tally(std::make_shared<RedisTally>(options.key_prefix, options.node_id)),
        dead_letters(std::make_shared<RedisDeadLetters>(
            io, commands,
            DeadLetterKeys{options.key_prefix + "dead-letters:", options.key_prefix + "tally:",
                           keys.events, options.max_len})),
        shared(options.lookup_cache),
        metrics(options) {}

  RedisQueueOptions options;
  StreamKeys keys;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  RedisConnection commands;
  asio::steady_timer trim_timer;
  asio::steady_timer tally_timer;
  std::shared_ptr<RedisTally> tally;
  std::shared_ptr<RedisDeadLetters> dead_letters;
  QueueShared shared;
  QueueMetrics metrics;
  std::thread thread;
  std::atomic<bool> closed{false};

  // Queue thread only.
  std::map<std::string, std::unique_ptr<GroupReader>> readers;
  std::map<std::string, std::vector<std::string>> unacked;  // committed, XACK not yet answered
  std::unique_ptr<StreamTail> tail;                         // from the first shared-events listener
  std::vector<std::function<void(const std::vector<Event>&)>> shared_listeners;

  void set_problem(std::string problem) {
    std::lock_guard lock(shared.mutex);
    shared.problem = std::move(problem);
  }

  void start() {
    commands.on_ready([this] {
      metrics.connected(true);
      on_connected();
    });
    commands.on_lost([this](const std::string& why) {
      metrics.connected(false);
      set_problem("redis: " + why);
    });
    commands.start();
    arm_trim();
    arm_tally();
  }

  void arm_tally() {
    tally_timer.expires_after(kTallyEvery);
    tally_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || closed) return;
      tally->flush(commands);
      arm_tally();
    });
  }

  // Groups first, then the persistence check: appends (sent after it on this
  // connection) only begin once both passed.
  void on_connected() {
    for (auto& [name, reader] : readers)
      commands.send(reader->create_command(), nullptr);
    flush_acks();
    auto appendonly = std::make_shared<std::string>();
    commands.send({"CONFIG", "GET", "appendonly"}, [appendonly](const redisReply* r) {
      if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        *appendonly = std::string(r->element[1]->str, r->element[1]->len);
      }
    });
    commands.send({"CONFIG", "GET", "appendfsync"}, [this, appendonly](const redisReply* r) {
      if (r == nullptr) return;
      std::string appendfsync = "unknown";
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        appendfsync = std::string(r->element[1]->str, r->element[1]->len);
      }
      std::string problem = aof_problem(options.require_aof,
                                        appendonly->empty() ? "unknown" : *appendonly, appendfsync);
      if (!problem.empty())
        log::error("redis persistence is not what was asked", {{"problem", problem}});
      log::info(
          "redis queue ready",
          {{"node", options.node_id}, {"appendonly", *appendonly}, {"appendfsync", appendfsync}});
      set_problem(problem);
    });
  }

  void append(std::vector<Event> events, AppendCallback done) {
    {
      std::lock_guard lock(shared.mutex);
      if (!shared.problem.empty()) {
        return done(refused(shared.problem));
      }
    }
    std::vector<std::string> args{"EVAL",
                                  redis_scripts::kAppend,
                                  "1",
                                  keys.events,
                                  std::to_string(options.dedupe_window.count()),
                                  std::to_string(options.max_len),
                                  keys.ids};
    for (const Event& event : events) {
      args.push_back(event.id);
      for (auto& [name, value] : stream_fields(event))
        args.push_back(std::move(value));
    }
    auto shared_events = std::make_shared<std::vector<Event>>(std::move(events));
    auto callback = std::make_shared<AppendCallback>(std::move(done));
    auto started = std::chrono::steady_clock::now();
    bool sent = commands.send(args, [this, shared_events, callback, started](const redisReply* r) {
      appended(*shared_events, r, *callback, std::chrono::steady_clock::now() - started);
    });
    if (!sent) (*callback)(refused("redis: not connected"));
  }

  void appended(const std::vector<Event>& events, const redisReply* r, const AppendCallback& done,
                std::chrono::nanoseconds round_trip) {
    // Not acknowledged either way: 503, and a retry with the same ids is
    // deduplicated should the entries have been written after all.
    if (r == nullptr) return done(refused("redis: connection lost"));
    if (r->type == REDIS_REPLY_ERROR) {
      std::string error(r->str, r->len);
      log::error("redis append failed", {{"error", error}});
      return done(refused("redis: " + error));
    }
    AppendResult result;
    result.duplicate.assign(events.size(), false);
    if (r->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < r->elements && i < events.size(); ++i) {
        result.duplicate[i] = r->element[i]->integer != 0;
      }
    }
    auto duplicates = static_cast<std::size_t>(
        std::count(result.duplicate.begin(), result.duplicate.end(), true));
    metrics.appended(events.size() - duplicates, duplicates, round_trip);
    {
      std::lock_guard lock(shared.mutex);
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (!result.duplicate[i]) shared.recent.remember(events[i]);
      }
    }
    done(std::move(result));
  }

  void add_reader(const std::string& name) {
    if (readers.count(name) != 0) return;
    auto reader = std::make_unique<GroupReader>(io, options, keys, name, commands, shared, metrics);
    commands.send(reader->create_command(), nullptr);
    reader->start();
    readers.emplace(name, std::move(reader));
  }

  void add_shared_listener(std::function<void(const std::vector<Event>&)> listener) {
    shared_listeners.push_back(std::move(listener));
    if (tail || closed) return;
    tail = std::make_unique<StreamTail>(io, options, keys.events, shared,
                                        [this](const std::vector<Event>& events) {
                                          for (auto& listener : shared_listeners)
                                            listener(events);
                                        });
    tail->start();
  }

  void remove_reader(const std::string& name) {
    auto it = readers.find(name);
    if (it == readers.end()) return;
    it->second->stop();
    readers.erase(it);
  }

  void acknowledge(const std::string& group, std::vector<std::string> ids) {
    auto& waiting = unacked[group];
    waiting.insert(waiting.end(), std::make_move_iterator(ids.begin()),
                   std::make_move_iterator(ids.end()));
    flush_acks();
    if (auto reader = readers.find(group); reader != readers.end()) reader->second->wake();
  }

  // XACKs what is waiting (dropping retry notes with it); what a lost
  // connection did not confirm waits for the next one (an entry acked twice
  // is harmless).
  void flush_acks() {
    if (!commands.ready()) return;
    for (auto& [group, ids] : unacked) {
      for (std::size_t at = 0; at < ids.size(); at += kAckChunk) {
        auto end = ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), at + kAckChunk));
        auto sent_ids = std::make_shared<std::vector<std::string>>(
            ids.begin() + static_cast<std::ptrdiff_t>(at), end);
        std::vector<std::string> args{"EVAL",      redis_scripts::kAck,  "2",
                                      keys.events, keys.retries + group, group};
        args.insert(args.end(), sent_ids->begin(), sent_ids->end());
        std::string name = group;
        commands.send(args, [this, name, sent_ids](const redisReply* r) {
          if (r == nullptr) {
            auto& waiting = unacked[name];
            waiting.insert(waiting.end(), sent_ids->begin(), sent_ids->end());
            return;
          }
          if (r->type == REDIS_REPLY_ERROR) {
            log::warn("redis ack failed",
                      {{"group", name}, {"error", std::string(r->str, r->len)}});
          }
          std::lock_guard lock(shared.mutex);
          if (auto buffer = shared.buffers.find(name); buffer != shared.buffers.end()) {
            buffer->second.acknowledged(*sent_ids);
          }
        });
      }
      ids.clear();
    }
  }

  // Lost with the connection: the entry's schedule starts over on the node
  // that takes it over, which at-least-once allows.
  void note_retry(const std::string& group, const std::string& stream_id, RetryNote note) {
    if (commands.send({"HSET", keys.retries + group, stream_id, retry_note_text(note)}, nullptr)) {
      metrics.retry_noted();
    }
  }

  void arm_trim() {
    trim_timer.expires_after(options.trim_every);
    trim_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || closed) return;
      commands.send({"EVAL", redis_scripts::kTrim, "1", keys.events}, [](const redisReply* r) {
        if (r && r->type == REDIS_REPLY_ERROR) {
          log::warn("redis trim failed", {{"error", std::string(r->str, r->len)}});
        }
      });
      poll_metrics();
      arm_trim();
    });
  }

  void poll_metrics() {
    commands.send({"XLEN", keys.events}, [this](const redisReply* r) { metrics.stream_length(r); });
    commands.send({"XLEN", keys.dead},
                  [this](const redisReply* r) { metrics.dead_stream_length(r); });
    commands.send({"XINFO", "GROUPS", keys.events},
                  [this](const redisReply* r) { metrics.groups(r); });
  }

  // Last acks out (bounded by the answer timeout), then every connection closed.
  void shut_down(std::promise<void>& finished) {
    for (auto& [name, reader] : readers)
      reader->stop();
    readers.clear();
    if (tail) tail->stop();
    trim_timer.cancel();
    tally_timer.cancel();
    flush_acks();
    tally->flush(commands);
    auto done = std::make_shared<std::promise<void>*>(&finished);
    auto finish = [this, done] {
      if (*done == nullptr) return;
      commands.stop();
      work.reset();
      std::promise<void>* p = *done;
      *done = nullptr;
      p->set_value();
    };
    // Inside a hiredis callback the context must not be freed: finish later.
    if (!commands.send({"PING"}, [this, finish](const redisReply*) { asio::post(io, finish); })) {
      finish();
    }
  }
};

Result<std::unique_ptr<RedisQueue>> RedisQueue::open(RedisQueueOptions options) {
  if (options.node_id.empty()) options.node_id = default_node_id();
  auto state = std::make_shared<State>(std::move(options));
  State* s = state.get();
  asio::post(s->io, [s] { s->start(); });
  s->thread = std::thread([s] { s->io.run(); });
  return std::unique_ptr<RedisQueue>(new RedisQueue(std::move(state)));
}

RedisQueue::RedisQueue(std::shared_ptr<State> state) : state_(std::move(state)) {}

RedisQueue::~RedisQueue() {
  close();
}

void RedisQueue::append(std::vector<Event> events, AppendCallback done) {
  if (events.empty()) return done(AppendResult{});
  auto s = state_;
  asio::post(s->io, [s, events = std::move(events), done = std::move(done)]() mutable {
    s->append(std::move(events), std::move(done));
  });
}

std::optional<StoredEvent> RedisQueue::lookup(std::string_view id) {
  std::lock_guard lock(state_->shared.mutex);
  const Event* event = state_->shared.recent.find(id);
  if (event == nullptr) return std::nullopt;
  StoredEvent stored;
  stored.event = *event;
  return stored;
}

Result<std::vector<StoredEvent>> RedisQueue::read(std::uint64_t, std::size_t) {
  // The stream is shared: no node holds all of it in seq order.
  return std::vector<StoredEvent>{};
}

Result<std::vector<StoredEvent>> RedisQueue::read_for(std::string_view consumer,
                                                      std::uint64_t after_seq, std::size_t max) {
  std::lock_guard lock(state_->shared.mutex);
  auto buffer = state_->shared.buffers.find(consumer);
  if (buffer == state_->shared.buffers.end()) return std::vector<StoredEvent>{};
  return buffer->second.read(after_seq, max);
}

std::uint64_t RedisQueue::register_consumer(const std::string& name) {
  std::uint64_t cursor = 0;
  {
    std::lock_guard lock(state_->shared.mutex);
    auto [it, fresh] = state_->shared.buffers.try_emplace(name);
    cursor = it->second.cursor();
    if (!fresh) return cursor;
  }
  std::weak_ptr<State> weak = state_;
  metrics().gauge_callback(kHeldGauge, kHeldHelp, {{"consumer", name}}, [weak, name]() -> double {
    auto s = weak.lock();
    if (!s) return 0;
    std::lock_guard lock(s->shared.mutex);
    auto buffer = s->shared.buffers.find(name);
    return buffer == s->shared.buffers.end() ? 0 : static_cast<double>(buffer->second.size());
  });
  auto s = state_;
  asio::post(s->io, [s, name] { s->add_reader(name); });
  return cursor;
}

std::uint64_t RedisQueue::cursor(std::string_view name) const {
  std::lock_guard lock(state_->shared.mutex);
  auto buffer = state_->shared.buffers.find(name);
  return buffer == state_->shared.buffers.end() ? 0 : buffer->second.cursor();
}

void RedisQueue::commit(std::string_view name, std::uint64_t seq) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(state_->shared.mutex);
    auto buffer = state_->shared.buffers.find(name);
    if (buffer == state_->shared.buffers.end()) return;
    ids = buffer->second.commit(seq);
  }
  if (ids.empty()) return;
  auto s = state_;
  asio::post(s->io, [s, group = std::string(name), ids = std::move(ids)]() mutable {
    s->acknowledge(group, std::move(ids));
  });
}

void RedisQueue::retry_scheduled(std::string_view consumer, std::uint64_t seq, std::size_t failures,
                                 std::int64_t due_unix_ms) {
  std::string stream_id;
  {
    std::lock_guard lock(state_->shared.mutex);
    auto buffer = state_->shared.buffers.find(consumer);
    if (buffer == state_->shared.buffers.end()) return;
    stream_id = buffer->second.stream_id_at(seq);
  }
  if (stream_id.empty()) return;
  auto s = state_;
  asio::post(s->io,
             [s, group = std::string(consumer), stream_id = std::move(stream_id),
              note = RetryNote{failures, due_unix_ms}] { s->note_retry(group, stream_id, note); });
}

void RedisQueue::unregister_consumer(const std::string& name) {
  // Only this node stops reading: other nodes may still serve the group, and
  // what this node held is claimed by them once idle.
  {
    std::lock_guard lock(state_->shared.mutex);
    state_->shared.buffers.erase(name);
  }
  metrics().remove_gauge_callback(kHeldGauge, {{"consumer", name}});
  auto s = state_;
  asio::post(s->io, [s, name] { s->remove_reader(name); });
}

void RedisQueue::on_durable(std::function<void(std::uint64_t)> listener) {
  std::lock_guard lock(state_->shared.mutex);
  state_->shared.listeners.push_back(std::move(listener));
}

void RedisQueue::on_shared_events(std::function<void(const std::vector<Event>&)> listener) {
  auto s = state_;
  asio::post(s->io, [s, listener = std::move(listener)]() mutable {
    s->add_shared_listener(std::move(listener));
  });
}

JournalStats RedisQueue::stats() const {
  JournalStats stats;
  std::lock_guard lock(state_->shared.mutex);
  stats.writable = state_->shared.problem.empty();
  return stats;
}

void RedisQueue::close() {
  if (state_->closed.exchange(true)) return;
  std::promise<void> finished;
  auto s = state_;
  asio::post(s->io, [s, &finished] { s->shut_down(finished); });
  finished.get_future().wait();
  s->thread.join();
}

std::shared_ptr<SharedTally> RedisQueue::shared_tally() const {
  return state_->tally;
}

std::shared_ptr<SharedDeadLetters> RedisQueue::shared_dead_letters() const {
  return state_->dead_letters;
}

std::string RedisQueue::status_json() const {
  namespace json = boost::json;
  json::object status;
  status["backend"] = "redis";
  status["url"] = state_->options.url.describe();
  status["node"] = state_->options.node_id;
  std::lock_guard lock(state_->shared.mutex);
  status["writable"] = state_->shared.problem.empty();
  if (!state_->shared.problem.empty()) status["problem"] = state_->shared.problem;
  json::object held;
  for (const auto& [name, buffer] : state_->shared.buffers)
    held[name] = buffer.size();
  status["held"] = std::move(held);
  return json::serialize(status);
}

}  // namespace hookd
