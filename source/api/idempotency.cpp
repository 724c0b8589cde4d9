#include "hookd/api/idempotency.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace hookd::api {

IdempotencyCache::IdempotencyCache(std::size_t capacity, std::int64_t ttl_ms)
    : capacity_(std::max<std::size_t>(1, capacity)), ttl_ms_(ttl_ms) {
  entries_.reserve(capacity_ + 1);
}

std::size_t IdempotencyCache::DigestHash::operator()(const Digest& digest) const {
  std::size_t hash = 0;
  std::memcpy(&hash, digest.data(), sizeof hash);
  return hash;
}

IdempotencyCache::Digest IdempotencyCache::key_of(const HttpRequest& request,
                                                  std::string_view idempotency_key) {
  // One context per thread, reset for each digest: making and freeing one
  // per request costs more than the hashing.
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Context context;
  EVP_MD_CTX* ctx = context.ctx;
  // Lengths first, so no two different inputs hash the same concatenation.
  auto add = [ctx](std::string_view part) {
    char size[24];
    char* end = std::to_chars(size, size + sizeof size - 1, part.size()).ptr;
    *end++ = ':';
    EVP_DigestUpdate(ctx, size, static_cast<std::size_t>(end - size));
    EVP_DigestUpdate(ctx, part.data(), part.size());
  };
  // Fetched once: OpenSSL 3 looks EVP_sha256() up again on every digest.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_DigestInit_ex(ctx, md, nullptr);
  add(idempotency_key);
  add(request.header("authorization"));
  add(request.method);
  add(request.target);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  Digest out{};
  std::memcpy(out.data(), digest, std::min<std::size_t>(length, out.size()));
  return out;
}

bool IdempotencyCache::begin(const Digest& key, std::int64_t now_ms, Responder waiter) {
  std::unique_lock lock(mutex_);
  evict_locked(now_ms);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    Entry entry;
    entry.expires_ms = now_ms + ttl_ms_;
    entries_.emplace(key, std::move(entry));
    order_.push_back(key);
    return true;
  }
  if (it->second.finished) {
    HttpResponse replay = it->second.response;
    lock.unlock();
    waiter(std::move(replay));
    return false;
  }
  it->second.waiters.push_back(std::move(waiter));
  return false;
}

void IdempotencyCache::finish(const Digest& key, const HttpResponse& response,
                              std::int64_t now_ms) {
  std::vector<Responder> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    waiters = std::move(it->second.waiters);
    it->second.waiters.clear();
    if (response.status >= 200 && response.status < 300) {
      it->second.finished = true;
      it->second.response = response;
      it->second.expires_ms = now_ms + ttl_ms_;
    } else {
      entries_.erase(it);  // its slot in order_ is skipped when reached
    }
  }
  for (Responder& waiter : waiters)
    waiter(response);
}

void IdempotencyCache::evict_locked(std::int64_t now_ms) {
  while (!order_.empty()) {
    auto it = entries_.find(order_.front());
    bool stale = it == entries_.end();
    bool expired = !stale && it->second.finished && it->second.expires_ms <= now_ms;
    bool over = entries_.size() >= capacity_ && !stale && it->second.finished;
    if (!stale && !expired && !over) break;
    if (!stale) entries_.erase(it);
    order_.pop_front();
  }
}

}  // namespace hookd::api
