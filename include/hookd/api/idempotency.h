// IdempotencyCache: the first answer to a POST carrying an `idempotency-key`
// header is replayed to every later request with the same key (and the same
// credentials and target) for `ttl`, as svix-server does; a request arriving
// while the first is still running waits for its answer. Only 2xx answers
// are kept: a refused request can be retried. In memory, at most `capacity`
// answered keys (the oldest go first; keys still running are never dropped).
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "hookd/api/siphash.h"
#include "hookd/journal/id_index.h"
#include "hookd/server/http_server.h"

namespace hookd::api {

class IdempotencyCache {
 public:
  // What makes two requests the same, as a keyed 128-bit digest.
  using Digest = SipDigest;

  IdempotencyCache(std::size_t capacity, std::int64_t ttl_ms);

  // A digest of what makes two requests the same: the key, the
  // Authorization header and the method and target. SipHash under a key
  // drawn at start-up: a caller cannot aim a request at another's digest
  // (so at its answer) without the key, and two different requests share
  // one with a chance of 2^-128; SHA-256 cost ten times the instructions.
  static Digest key_of(const HttpRequest& request, std::string_view idempotency_key);
  // The same, with the request's Authorization header looked up already.
  static Digest key_of(const HttpRequest& request, std::string_view idempotency_key,
                       std::string_view authorization);

  // A claimed key's place: finish() goes straight to it, no lookup.
  using Claim = std::uint64_t;

  // Either claims `key` (returns the claim: run the request, then finish();
  // `waiter` is left alone, for the caller to answer with), or arranges for
  // `waiter` to get the stored or coming answer (nullopt; it was moved from).
  std::optional<Claim> begin(const Digest& key, std::int64_t now_ms, Responder& waiter);
  // The answer of a claimed key; replays it to the waiters.
  void finish(const Digest& key, Claim claim, const HttpResponse& response, std::int64_t now_ms);

  // begin() and finish() in one, for a request carrying `key` that answers
  // through `respond`: false when `respond` got (or will get) the stored or
  // coming answer; true when the request claimed the key: run it and answer
  // through `respond`, which now finish()es the key (at now_unix_ms()) and
  // then passes the answer on to the responder it replaced, kept with the
  // key meanwhile. The replacement holds two words, so std::function keeps
  // it without allocating.
  bool admit(const Digest& key, std::int64_t now_ms, Responder& respond);

  // Keys held (claimed or answered), for tests of the bound.
  std::size_t size() const;

 private:
  struct Entry {
    Digest key{};
    bool live = false;                     // false: free, evicted or given back
    std::optional<HttpResponse> response;  // set once answered 2xx
    std::int64_t expires_ms = 0;
    std::vector<Responder> waiters;
    Responder owner;  // admit()'s: the claiming request's own responder
  };
  std::optional<Claim> begin_locked(std::unique_lock<std::mutex>& lock, const Digest& key,
                                    std::int64_t now_ms, Responder& waiter);
  // finish() with `key` checked when given; hands admit()'s responder over.
  void finish(const Digest* key, Claim claim, const HttpResponse& response, std::int64_t now_ms,
              Responder* owner);
  Entry& at(std::uint64_t seq) { return ring_[seq % ring_.size()]; }
  Entry* find_locked(const Digest& key, std::uint64_t* seq);
  void drop_locked(std::uint64_t seq);
  // Drops expired answers, and the oldest answered keys while more than
  // capacity - room are held.
  void evict_locked(std::int64_t now_ms, std::size_t room);
  void grow_locked();

  const std::size_t capacity_;
  const std::int64_t ttl_ms_;
  mutable std::mutex mutex_;
  // Entries in the order their keys came, entry `seq` at ring_[seq % size]:
  // evicting the oldest and adding the newest touch one entry each, and
  // nothing is allocated per key but the answer it keeps.
  std::vector<Entry> ring_;
  std::uint64_t first_seq_ = 1;  // the oldest entry not yet passed by eviction
  std::uint64_t next_seq_ = 1;   // the next key's (the index's seqs start at 1)
  std::size_t live_ = 0;
  // First 8 bytes of a live key's digest -> its seq: one open-addressing
  // table, the same the journal finds event ids with.
  journal_detail::IdIndex index_;
};

}  // namespace hookd::api
