// IdempotencyCache: the first answer to a POST carrying an `idempotency-key`
// header is replayed to every later request with the same key (and the same
// credentials and target) for `ttl`, as svix-server does; a request arriving
// while the first is still running waits for its answer. Only 2xx answers
// are kept: a refused request can be retried. In memory, at most `capacity`
// keys (the oldest go first). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "hookd/server/http_server.h"

namespace hookd::api {

class IdempotencyCache {
 public:
  // SHA-256 of what makes two requests the same. Held inline in the table
  // (not as a string on the heap), so a lookup touches one node.
  using Digest = std::array<unsigned char, 32>;

  IdempotencyCache(std::size_t capacity, std::int64_t ttl_ms);

  // A digest of what makes two requests the same: the key, the
  // Authorization header and the method and target.
  static Digest key_of(const HttpRequest& request, std::string_view idempotency_key);

  // Either claims `key` (returns true: run the request, then finish()), or
  // arranges for `waiter` to get the stored or coming answer (returns false).
  bool begin(const Digest& key, std::int64_t now_ms, Responder waiter);
  // The answer of a claimed key; replays it to the waiters.
  void finish(const Digest& key, const HttpResponse& response, std::int64_t now_ms);

 private:
  struct Entry {
    bool finished = false;
    HttpResponse response;
    std::int64_t expires_ms = 0;
    std::vector<Responder> waiters;
  };
  // Keys are SHA-256 digests already: their first bytes are a good hash.
  struct DigestHash {
    std::size_t operator()(const Digest& digest) const;
  };
  void evict_locked(std::int64_t now_ms);

  const std::size_t capacity_;
  const std::int64_t ttl_ms_;
  std::mutex mutex_;
  std::unordered_map<Digest, Entry, DigestHash> entries_;
  std::deque<Digest> order_;  // oldest first
};

}  // namespace hookd::api
