#include "hookd/api/idempotency.h"

#include <openssl/evp.h>

#include <algorithm>

namespace hookd::api {

IdempotencyCache::IdempotencyCache(std::size_t capacity, std::int64_t ttl_ms)
    : capacity_(std::max<std::size_t>(1, capacity)), ttl_ms_(ttl_ms) {}

std::string IdempotencyCache::key_of(const HttpRequest& request, std::string_view idempotency_key) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Lengths first, so no two different inputs hash the same concatenation.
  auto add = [ctx](std::string_view part) {
    std::string size = std::to_string(part.size()) + ":";
    EVP_DigestUpdate(ctx, size.data(), size.size());
    EVP_DigestUpdate(ctx, part.data(), part.size());
  };
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  add(idempotency_key);
  add(request.header("authorization"));
  add(request.method);
  add(request.target);
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool IdempotencyCache::begin(const std::string& key, std::int64_t now_ms, Responder waiter) {
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

void IdempotencyCache::finish(const std::string& key, const HttpResponse& response,
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
