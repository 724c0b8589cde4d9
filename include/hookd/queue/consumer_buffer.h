// ConsumerBuffer: the stream entries one consumer group handed to this node
// and that its consumer (hooks, an endpoint) has not finished, numbered with
// the node-local seqs that consumer's cursor counts in. Committing a seq
// drops the entries at or below it and returns their stream ids, to XACK;
// until Redis confirms the XACK, those ids are not taken again (after a
// reconnect Redis still lists them as this node's pending entries).
// Not thread-safe: RedisQueue guards it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "hookd/journal/journal.h"
#include "hookd/queue/stream_entry.h"

namespace hookd {

class ConsumerBuffer {
 public:
  // False (and nothing added) when the stream id is held already (a claim
  // may hand back an entry this node is still working on) or finished with
  // its XACK not yet confirmed.
  // `retry`: another node's failed attempts, handed over with the entry.
  // `dead_letter`: a replayed dead letter's line (StoredEvent::dead_letter).
  bool add(const std::string& stream_id, Event event, RetryNote retry = {},
           std::string dead_letter = {});

  // The stream id of the held entry at `seq`; empty when none is held there.
  std::string stream_id_at(std::uint64_t seq) const;

  // Held entries with seq > after_seq, oldest first, at most `max`.
  std::vector<StoredEvent> read(std::uint64_t after_seq, std::size_t max) const;

  // Drops entries with seq <= seq; returns their stream ids, oldest first.
  std::vector<std::string> commit(std::uint64_t seq);

  // Redis answered the XACK of these ids.
  void acknowledged(const std::vector<std::string>& ids);

  std::vector<std::string> held_ids() const;
  std::size_t size() const { return entries_.size(); }
  std::uint64_t cursor() const { return cursor_; }
  std::uint64_t last_seq() const { return next_seq_ - 1; }

 private:
  struct Held {
    std::string stream_id;
    Event event;
    RetryNote retry;
    std::string dead_letter;
  };
  std::map<std::uint64_t, Held> entries_;
  std::unordered_set<std::string> ids_;
  std::unordered_set<std::string> acking_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t cursor_ = 0;
};

}  // namespace hookd
