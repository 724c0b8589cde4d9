#include "hookd/api/idempotency.h"

#include <algorithm>
#include <cstring>

#include "hookd/core/rfc3339.h"

namespace hookd::api {

namespace {

constexpr std::size_t kFirstRing = 64;

// Digests are uniform already: their first bytes are a good hash.
std::uint64_t hash_of(const IdempotencyCache::Digest& digest) {
  std::uint64_t hash = 0;
  std::memcpy(&hash, digest.data(), sizeof hash);
  return hash;
}

}  // namespace

IdempotencyCache::IdempotencyCache(std::size_t capacity, std::int64_t ttl_ms)
    : capacity_(std::max<std::size_t>(1, capacity)),
      ttl_ms_(ttl_ms),
      ring_(std::min(kFirstRing, capacity_ + 1)) {}

IdempotencyCache::Digest IdempotencyCache::key_of(const HttpRequest& request,
                                                  std::string_view idempotency_key) {
  return key_of(request, idempotency_key, request.header("authorization"));
}

IdempotencyCache::Digest IdempotencyCache::key_of(const HttpRequest& request,
                                                  std::string_view idempotency_key,
                                                  std::string_view authorization) {
  // Each part after its length, so no two different inputs hash the same
  // concatenation; the lengths as 4 bytes (a header and a target are far
  // below 4 GiB), not as text. Gathered into one buffer: one digest update.
  const std::string_view parts[] = {idempotency_key, authorization, request.method, request.target};
  static const SipKey secret = random_sip_key();
  SipHash128 digest(secret);
  std::size_t total = 0;
  for (std::string_view part : parts)
    total += 4 + part.size();
  char buffer[512];
  if (total > sizeof buffer) {
    // Rare (a long token or target): one update per piece.
    for (std::string_view part : parts) {
      const auto size = static_cast<std::uint32_t>(part.size());
      digest.add(std::string_view(reinterpret_cast<const char*>(&size), sizeof size));
      digest.add(part);
    }
    return digest.finish();
  }
  char* at = buffer;
  for (std::string_view part : parts) {
    const auto size = static_cast<std::uint32_t>(part.size());
    std::memcpy(at, &size, sizeof size);
    at += sizeof size;
    if (!part.empty()) std::memcpy(at, part.data(), part.size());
    at += part.size();
  }
  digest.add(std::string_view(buffer, total));
  return digest.finish();
}

std::optional<IdempotencyCache::Claim> IdempotencyCache::begin(const Digest& key,
                                                               std::int64_t now_ms,
                                                               Responder& waiter) {
  std::unique_lock lock(mutex_);
  return begin_locked(lock, key, now_ms, waiter);
}

bool IdempotencyCache::admit(const Digest& key, std::int64_t now_ms, Responder& respond) {
  std::unique_lock lock(mutex_);
  std::optional<Claim> claim = begin_locked(lock, key, now_ms, respond);
  if (!claim) return false;
  at(*claim).owner = std::move(respond);
  respond = [this, seq = *claim](HttpResponse response) {
    Responder owner;
    finish(nullptr, seq, response, now_unix_ms(), &owner);
    if (owner) owner(std::move(response));
  };
  return true;
}

std::optional<IdempotencyCache::Claim> IdempotencyCache::begin_locked(
    std::unique_lock<std::mutex>& lock, const Digest& key, std::int64_t now_ms, Responder& waiter) {
  evict_locked(now_ms, 0);
  std::uint64_t seq = 0;
  Entry* entry = find_locked(key, &seq);
  if (!entry) {
    evict_locked(now_ms, 1);
    if (next_seq_ - first_seq_ == ring_.size()) grow_locked();
    seq = next_seq_++;
    Entry& fresh = at(seq);
    fresh.key = key;
    fresh.live = true;
    fresh.expires_ms = now_ms + ttl_ms_;
    index_.add(hash_of(key), seq);
    ++live_;
    return seq;
  }
  if (entry->response) {
    HttpResponse replay = *entry->response;
    lock.unlock();
    waiter(std::move(replay));
    return std::nullopt;
  }
  entry->waiters.push_back(std::move(waiter));
  return std::nullopt;
}

void IdempotencyCache::finish(const Digest& key, Claim claim, const HttpResponse& response,
                              std::int64_t now_ms) {
  finish(&key, claim, response, now_ms, nullptr);
}

void IdempotencyCache::finish(const Digest* key, Claim claim, const HttpResponse& response,
                              std::int64_t now_ms, Responder* owner) {
  std::vector<Responder> waiters;
  // The copy kept for replays is made before the lock: the journal thread
  // answers here while the reactor threads begin() under the same lock.
  const bool kept = response.status >= 200 && response.status < 300;
  std::optional<HttpResponse> copy;
  if (kept) copy = response;
  {
    std::lock_guard lock(mutex_);
    // A running key is never evicted, so its claim still names its entry;
    // the checks are for a finish() that was not begin()'s.
    if (claim < first_seq_ || claim >= next_seq_) return;
    Entry& entry = at(claim);
    if (!entry.live || entry.response || (key && entry.key != *key)) return;
    waiters.swap(entry.waiters);
    if (owner) *owner = std::move(entry.owner);
    entry.owner = nullptr;
    if (kept) {
      entry.response = std::move(copy);
      entry.expires_ms = now_ms + ttl_ms_;
    } else {
      drop_locked(claim);  // eviction steps over its slot when it gets there
    }
  }
  for (Responder& waiter : waiters)
    waiter(response);
}

std::size_t IdempotencyCache::size() const {
  std::lock_guard lock(mutex_);
  return live_;
}

IdempotencyCache::Entry* IdempotencyCache::find_locked(const Digest& key, std::uint64_t* seq) {
  for (std::uint64_t candidate : index_.candidates(hash_of(key))) {
    Entry& entry = at(candidate);
    if (entry.live && entry.key == key) {
      *seq = candidate;
      return &entry;
    }
  }
  return nullptr;
}

void IdempotencyCache::drop_locked(std::uint64_t seq) {
  Entry& entry = at(seq);
  index_.remove(hash_of(entry.key), seq);
  entry.live = false;
  entry.response.reset();
  entry.waiters.clear();
  entry.owner = nullptr;
  --live_;
}

void IdempotencyCache::evict_locked(std::int64_t now_ms, std::size_t room) {
  while (first_seq_ < next_seq_) {
    Entry& oldest = at(first_seq_);
    if (oldest.live) {
      // A key still running stays, and so does everything after it.
      if (!oldest.response) break;
      if (oldest.expires_ms > now_ms && live_ + room <= capacity_) break;
      drop_locked(first_seq_);
    }
    ++first_seq_;
  }
}

void IdempotencyCache::grow_locked() {
  // The ring starts small and doubles as keys come, up to the capacity;
  // beyond it only while the oldest key is still running.
  std::vector<Entry> grown(ring_.size() * 2);
  for (std::uint64_t seq = first_seq_; seq < next_seq_; ++seq)
    grown[seq % grown.size()] = std::move(at(seq));
  ring_ = std::move(grown);
}

}  // namespace hookd::api
