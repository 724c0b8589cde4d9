#include "group_reader.h"

#include <hiredis/hiredis.h>

#include <map>

#include "hookd/core/log.h"
#include "hookd/queue/stream_entry.h"
#include "redis_scripts.h"

namespace hookd {

namespace {

constexpr int kReadCount = 256;
constexpr int kBlockMs = 1000;
constexpr int kClaimCount = 256;
constexpr std::size_t kHeartbeatChunk = 500;

std::string text_of(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string(r->str, r->len)
             : std::string();
}

}  // namespace

std::vector<StreamEntry> stream_entries(const redisReply* list) {
  std::vector<StreamEntry> out;
  if (list == nullptr || list->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < list->elements; ++i) {
    const redisReply* entry = list->element[i];
    if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
    const redisReply* fields = entry->element[1];
    if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) continue;
    StreamFields pairs;
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      pairs.emplace_back(text_of(fields->element[f]), text_of(fields->element[f + 1]));
    }
    std::string id = text_of(entry->element[0]);
    auto parsed = stream_entry_from_fields(id, pairs);
    if (!parsed) {
      log::warn("redis entry is not an event, skipped", {{"entry", id}});
      continue;
    }
    out.push_back(std::move(*parsed));
  }
  return out;
}

GroupReader::GroupReader(boost::asio::io_context& io, const RedisQueueOptions& options,
                         StreamKeys keys, std::string group, RedisConnection& commands,
                         QueueShared& shared, QueueMetrics& metrics)
    : options_(options),
      keys_(std::move(keys)),
      group_(std::move(group)),
      commands_(commands),
      shared_(shared),
      metrics_(metrics),
      reader_(io, options.url, options.tls_bridge, "read " + group_,
              options.answer_timeout + std::chrono::milliseconds(kBlockMs)),
      room_timer_(io),
      claim_timer_(io),
      heartbeat_timer_(io) {}

std::vector<std::string> GroupReader::create_command() const {
  return {"XGROUP", "CREATE", keys_.events, group_, "$", "MKSTREAM"};
}

void GroupReader::start() {
  reader_.on_ready([this] {
    // After a restart of Redis without the group (no AOF), make it again;
    // BUSYGROUP is the usual answer. A node id's pending entries from an
    // earlier life are read first, on the first connection only: later, an
    // XACK still under way on the command connection could come after that
    // read and the entry would run twice. What a lost reply left pending
    // here comes back through the claim loop instead, ordered after the acks.
    reader_.send(create_command(), nullptr);
    history_from_ = first_connection_ ? "0" : "";
    first_connection_ = false;
    reading_ = false;
    read_next();
  });
  reader_.on_lost([this](const std::string&) { reading_ = false; });
  reader_.start();
  auto every = std::max(options_.claim_idle / 2, std::chrono::milliseconds(200));
  arm(claim_timer_, every, &GroupReader::claim);
  arm(heartbeat_timer_, std::max(options_.claim_idle / 3, std::chrono::milliseconds(100)),
      &GroupReader::heartbeat);
}

void GroupReader::stop() {
  stopped_ = true;
  *alive_ = false;
  room_timer_.cancel();
  claim_timer_.cancel();
  heartbeat_timer_.cancel();
  reader_.stop();
}

void GroupReader::wake() {
  if (!reading_) room_timer_.cancel();
}

void GroupReader::arm(boost::asio::steady_timer& timer, std::chrono::milliseconds after,
                      void (GroupReader::*step)()) {
  timer.expires_after(after);
  timer.async_wait(
      [this, &timer, after, step, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        (this->*step)();
        arm(timer, after, step);
      });
}

void GroupReader::read_next() {
  if (stopped_ || reading_ || !reader_.ready()) return;
  std::size_t held = shared_.held(group_);
  if (held >= options_.max_held) {
    // Full: the consumer's commit wakes this early, the timer in any case.
    room_timer_.expires_after(std::chrono::milliseconds(200));
    room_timer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
      if (*alive) read_next();
    });
    return;
  }
  int count = static_cast<int>(std::min<std::size_t>(kReadCount, options_.max_held - held));
  std::vector<std::string> args{"XREADGROUP",     "GROUP", group_,
                                options_.node_id, "COUNT", std::to_string(count)};
  if (history_from_.empty()) {
    args.insert(args.end(), {"BLOCK", std::to_string(kBlockMs)});
  }
  args.insert(args.end(), {"STREAMS", keys_.events, history_from_.empty() ? ">" : history_from_});
  reading_ = reader_.send(args, [this, alive = alive_](const redisReply* reply) {
    if (!*alive) return;
    reading_ = false;
    on_read(reply);
  });
}

void GroupReader::on_read(const redisReply* reply) {
  if (reply == nullptr) return;  // lost: on_ready starts reading again
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string error(reply->str, reply->len);
    log::warn("redis read failed", {{"group", group_}, {"error", error}});
    if (error.rfind("NOGROUP", 0) == 0) reader_.send(create_command(), nullptr);
    room_timer_.expires_after(std::chrono::milliseconds(500));
    room_timer_.async_wait([this, alive = alive_](const boost::system::error_code&) {
      if (*alive) read_next();
    });
    return;
  }
  std::vector<StreamEntry> entries;
  const bool from_history = !history_from_.empty();
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
    const redisReply* stream = reply->element[0];  // [name, entries]
    if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2) {
      const redisReply* list = stream->element[1];
      entries = stream_entries(list);
      if (!history_from_.empty()) {
        // Own pending entries come back from the id given on; none left: live.
        if (list->type != REDIS_REPLY_ARRAY || list->elements == 0) {
          history_from_.clear();
        } else {
          const redisReply* last = list->element[list->elements - 1];
          history_from_ = last->type == REDIS_REPLY_ARRAY && last->elements > 0
                              ? text_of(last->element[0])
                              : std::string();
        }
      }
    }
  } else if (!history_from_.empty()) {
    history_from_.clear();
  }
  entries = ours(std::move(entries));
  if (from_history && !entries.empty()) return hand_over_with_notes(std::move(entries));
  if (!entries.empty()) shared_.hand_over(group_, std::move(entries));
  read_next();
}

// This node id's entries from an earlier life (a restart): their retry
// notes go with them, as with entries claimed from another node, so that
// the schedule goes on instead of starting over. Reading waits meanwhile,
// which keeps the entries in order.
void GroupReader::hand_over_with_notes(std::vector<StreamEntry> entries) {
  std::vector<std::string> args{"HMGET", keys_.retries + group_};
  for (const auto& entry : entries)
    args.push_back(entry.stream_id);
  auto held = std::make_shared<std::vector<StreamEntry>>(std::move(entries));
  reading_ = reader_.send(args, [this, held, alive = alive_](const redisReply* reply) {
    if (!*alive) return;
    reading_ = false;
    std::map<std::string, RetryNote> notes;
    if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY) {
      for (std::size_t i = 0; i < reply->elements && i < held->size(); ++i) {
        if (auto note = parse_retry_note(text_of(reply->element[i]))) {
          notes.emplace((*held)[i].stream_id, *note);
        }
      }
    }
    // Lost meanwhile: handed over without notes, their schedule starts over
    // (at least once allows it).
    shared_.hand_over(group_, std::move(*held), notes);
    read_next();
  });
  if (reading_) return;
  shared_.hand_over(group_, std::move(*held));
  read_next();
}

std::vector<StreamEntry> GroupReader::ours(std::vector<StreamEntry> entries) {
  std::vector<std::string> others{"XACK", keys_.events, group_};
  std::vector<StreamEntry> mine;
  mine.reserve(entries.size());
  for (auto& entry : entries) {
    if (entry.only_for.empty() || entry.only_for == group_) {
      mine.push_back(std::move(entry));
    } else {
      others.push_back(std::move(entry.stream_id));
    }
  }
  // Lost with the connection: the entry comes back (from history or a
  // claim) and is acknowledged then.
  if (others.size() > 3) commands_.send(others, nullptr);
  return mine;
}

void GroupReader::claim() {
  if (stopped_ || !commands_.ready()) return;
  std::vector<std::string> args{"EVAL",
                                redis_scripts::kClaim,
                                "3",
                                keys_.events,
                                keys_.dead,
                                keys_.retries + group_,
                                group_,
                                options_.node_id,
                                std::to_string(options_.claim_idle.count()),
                                std::to_string(options_.max_deliveries),
                                std::to_string(kClaimCount),
                                claim_from_};
  commands_.send(args, [this, alive = alive_](const redisReply* reply) {
    if (!*alive || reply == nullptr) return;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
      if (reply->type == REDIS_REPLY_ERROR) {
        log::warn("redis claim failed",
                  {{"group", group_}, {"error", std::string(reply->str, reply->len)}});
      }
      return;
    }
    claim_from_ = text_of(reply->element[0]);
    if (claim_from_.empty()) claim_from_ = "0-0";
    auto entries = ours(stream_entries(reply->element[1]));
    long long buried = reply->element[2]->integer;
    if (buried > 0) {
      metrics_.dead_lettered(group_, static_cast<std::size_t>(buried));
      log::warn("redis entries delivered too often, moved to the dead-letter stream",
                {{"group", group_}, {"entries", buried}, {"stream", keys_.dead}});
    }
    std::map<std::string, RetryNote> retries;
    const redisReply* notes = reply->element[3];
    for (std::size_t i = 0; notes->type == REDIS_REPLY_ARRAY && i + 1 < notes->elements; i += 2) {
      if (auto note = parse_retry_note(text_of(notes->element[i + 1]))) {
        retries.emplace(text_of(notes->element[i]), *note);
      }
    }
    if (!entries.empty()) {
      // Those with a note had failed on the node that died: their retry
      // schedule goes on here.
      log::info("redis entries claimed from idle consumers",
                {{"group", group_}, {"entries", entries.size()}, {"retries", retries.size()}});
      metrics_.claimed(group_, entries.size(), retries.size());
      shared_.hand_over(group_, std::move(entries), retries);
    }
  });
}

void GroupReader::heartbeat() {
  if (stopped_ || !commands_.ready()) return;
  std::vector<std::string> ids;
  {
    std::lock_guard lock(shared_.mutex);
    auto buffer = shared_.buffers.find(group_);
    if (buffer != shared_.buffers.end()) ids = buffer->second.held_ids();
  }
  for (std::size_t at = 0; at < ids.size(); at += kHeartbeatChunk) {
    std::vector<std::string> args{"EVAL", redis_scripts::kHeartbeat, "1", keys_.events,
                                  group_, options_.node_id};
    std::size_t end = std::min(ids.size(), at + kHeartbeatChunk);
    args.insert(args.end(), ids.begin() + static_cast<std::ptrdiff_t>(at),
                ids.begin() + static_cast<std::ptrdiff_t>(end));
    commands_.send(args, nullptr);
  }
}

}  // namespace hookd
