// IdempotencyCache: the first answer to a key is replayed, concurrent
// requests wait for it, refused answers are not kept, and the bound drops
// the oldest answered keys (never one still running), across enough keys
// that the ring grows and the index removes and re-adds.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hookd/api/idempotency.h"

namespace {

using hookd::HttpRequest;
using hookd::HttpResponse;
using hookd::api::IdempotencyCache;

constexpr std::int64_t kTtl = 24 * 3600 * 1000;

IdempotencyCache::Digest key(const std::string& idempotency_key,
                             const std::string& target = "/api/v1/app/a/msg") {
  HttpRequest request;
  request.method = "POST";
  request.target = target;
  request.headers = {{"authorization", "Bearer t"}};
  return IdempotencyCache::key_of(request, idempotency_key);
}

HttpResponse answer(int status, std::string body) {
  return HttpResponse::json(status, std::move(body));
}

// begin() for `k`: the claim when it claimed the key, else the answer its
// waiter got (none while it waits).
struct Outcome {
  std::optional<IdempotencyCache::Claim> claim;
  bool claimed = false;
  std::shared_ptr<std::optional<HttpResponse>> got =
      std::make_shared<std::optional<HttpResponse>>();
};

Outcome begin(IdempotencyCache& cache, const IdempotencyCache::Digest& k, std::int64_t now = 0) {
  Outcome out;
  auto got = out.got;
  hookd::Responder waiter = [got](HttpResponse r) { *got = std::move(r); };
  out.claim = cache.begin(k, now, waiter);
  out.claimed = out.claim.has_value();
  return out;
}

// begin() that must claim `k`: its claim.
IdempotencyCache::Claim claim(IdempotencyCache& cache, const IdempotencyCache::Digest& k,
                              std::int64_t now = 0) {
  Outcome out = begin(cache, k, now);
  REQUIRE(out.claimed);
  return *out.claim;
}

}  // namespace

TEST_CASE("IdempotencyCache key_of tells apart key, credentials and target", "[idempotency]") {
  CHECK(key("k1") == key("k1"));
  CHECK(key("k1") != key("k2"));
  CHECK(key("k1") != key("k1", "/api/v1/app/b/msg"));
  HttpRequest other;
  other.method = "POST";
  other.target = "/api/v1/app/a/msg";
  other.headers = {{"authorization", "Bearer u"}};
  CHECK(IdempotencyCache::key_of(other, "k1") != key("k1"));
  // Lengths are hashed with the parts: moving bytes between them differs.
  CHECK(key("k1", "/x") != key("k1/", "x"));
}

TEST_CASE("IdempotencyCache replays the first answer and wakes the waiters", "[idempotency]") {
  IdempotencyCache cache(100, kTtl);
  const auto k = key("auto_1");
  const IdempotencyCache::Claim first = claim(cache, k);
  Outcome waiting = begin(cache, k);
  CHECK_FALSE(waiting.claimed);
  CHECK_FALSE(waiting.got->has_value());

  cache.finish(k, first, answer(202, R"({"id":"msg_1"})"), 10);
  REQUIRE(waiting.got->has_value());
  CHECK((*waiting.got)->status == 202);
  CHECK((*waiting.got)->body == R"({"id":"msg_1"})");

  Outcome later = begin(cache, k, 20);
  CHECK_FALSE(later.claimed);
  REQUIRE(later.got->has_value());
  CHECK((*later.got)->body == R"({"id":"msg_1"})");
  CHECK(begin(cache, key("auto_2")).claimed);
  CHECK(cache.size() == 2);
}

TEST_CASE("IdempotencyCache keeps no refused answer", "[idempotency]") {
  IdempotencyCache cache(100, kTtl);
  const auto k = key("auto_1");
  const IdempotencyCache::Claim first = claim(cache, k);
  Outcome waiting = begin(cache, k);
  cache.finish(k, first, answer(503, R"({"code":"unavailable"})"), 0);
  REQUIRE(waiting.got->has_value());
  CHECK((*waiting.got)->status == 503);
  CHECK(cache.size() == 0);
  // The retry runs again, and its answer is the one kept.
  const IdempotencyCache::Claim retry = claim(cache, k);
  cache.finish(k, retry, answer(202, "second"), 0);
  Outcome replay = begin(cache, k);
  REQUIRE(replay.got->has_value());
  CHECK((*replay.got)->body == "second");
}

TEST_CASE("IdempotencyCache ignores a finish that is not its claim's", "[idempotency]") {
  IdempotencyCache cache(100, kTtl);
  const auto k = key("auto_1");
  const IdempotencyCache::Claim first = claim(cache, k);
  cache.finish(key("auto_2"), first, answer(202, "other key"), 0);
  cache.finish(k, first + 1, answer(202, "other claim"), 0);
  Outcome waiting = begin(cache, k);
  CHECK_FALSE(waiting.claimed);
  CHECK_FALSE(waiting.got->has_value());
  cache.finish(k, first, answer(202, "mine"), 0);
  cache.finish(k, first, answer(202, "again"), 0);  // answered already
  REQUIRE(waiting.got->has_value());
  Outcome replay = begin(cache, k);
  REQUIRE(replay.got->has_value());
  CHECK((*replay.got)->body == "mine");
}

TEST_CASE("IdempotencyCache answers expire after the ttl", "[idempotency]") {
  IdempotencyCache cache(100, 1000);
  const auto k = key("auto_1");
  const IdempotencyCache::Claim first = claim(cache, k, 0);
  cache.finish(k, first, answer(202, "first"), 0);
  CHECK_FALSE(begin(cache, k, 999).claimed);
  CHECK(begin(cache, k, 1000).claimed);
}

TEST_CASE("IdempotencyCache drops the oldest answered keys beyond its capacity", "[idempotency]") {
  const std::size_t capacity = GENERATE(1, 3, 100);
  const std::size_t keys = 10 * capacity + 7;  // the ring grows, the index churns
  IdempotencyCache cache(capacity, kTtl);
  for (std::size_t i = 0; i < keys; ++i) {
    const auto k = key("auto_" + std::to_string(i));
    const IdempotencyCache::Claim claimed = claim(cache, k);
    // Every fifth is refused: its slot is given back, not kept.
    cache.finish(k, claimed, answer(i % 5 == 4 ? 500 : 202, std::to_string(i)), 0);
    REQUIRE(cache.size() <= capacity);
  }
  // The newest answered ones replay; the oldest are claimable again.
  std::size_t replayed = 0;
  for (std::size_t i = keys; i-- > 0;) {
    if (i % 5 == 4) continue;
    Outcome again = begin(cache, key("auto_" + std::to_string(i)));
    if (again.claimed) break;
    REQUIRE(again.got->has_value());
    CHECK((*again.got)->body == std::to_string(i));
    ++replayed;
  }
  CHECK(replayed == capacity);
}

TEST_CASE("IdempotencyCache never drops a key still running", "[idempotency]") {
  IdempotencyCache cache(2, kTtl);
  std::vector<IdempotencyCache::Digest> running;
  std::vector<IdempotencyCache::Claim> claims;
  for (int i = 0; i < 200; ++i) {
    running.push_back(key("run_" + std::to_string(i)));
    claims.push_back(claim(cache, running.back()));
  }
  CHECK(cache.size() == 200);
  // Each still waits for its first request, so none is claimed twice.
  std::vector<Outcome> waiters;
  for (const auto& k : running) {
    waiters.push_back(begin(cache, k));
    REQUIRE_FALSE(waiters.back().claimed);
  }
  for (std::size_t i = 0; i < running.size(); ++i)
    cache.finish(running[i], claims[i], answer(202, std::to_string(i)), 0);
  for (std::size_t i = 0; i < running.size(); ++i) {
    REQUIRE(waiters[i].got->has_value());
    CHECK((*waiters[i].got)->body == std::to_string(i));
  }
  // The next claim brings the answered keys back down to the bound.
  CHECK(begin(cache, key("next")).claimed);
  CHECK(cache.size() <= 2);
  CHECK_FALSE(begin(cache, running.back()).claimed);
  CHECK(begin(cache, running.front()).claimed);
}

TEST_CASE("IdempotencyCache admit: the claimer's responder keeps the answer, then passes it on",
          "[idempotency]") {
  IdempotencyCache cache(8, kTtl);
  const IdempotencyCache::Digest k = key("auto_admit");
  auto mine = std::make_shared<std::optional<HttpResponse>>();
  hookd::Responder respond = [mine](HttpResponse r) { *mine = std::move(r); };
  REQUIRE(cache.admit(k, 0, respond));
  Outcome waiting = begin(cache, k);  // arrives while the first runs
  CHECK_FALSE(waiting.claimed);
  CHECK_FALSE(*waiting.got);

  hookd::Responder second = [](HttpResponse) {};
  CHECK_FALSE(cache.admit(k, 0, second));  // waits too

  respond(answer(202, R"({"id":"msg_1"})"));
  REQUIRE(*mine);
  CHECK((*mine)->status == 202);
  CHECK((*mine)->body == R"({"id":"msg_1"})");
  REQUIRE(*waiting.got);
  CHECK((*waiting.got)->body == R"({"id":"msg_1"})");
  Outcome replay = begin(cache, k);
  CHECK_FALSE(replay.claimed);
  REQUIRE(*replay.got);
  CHECK((*replay.got)->body == R"({"id":"msg_1"})");

  // A refused answer reaches the claimer and is not kept.
  const IdempotencyCache::Digest refused = key("auto_refused");
  auto got = std::make_shared<std::optional<HttpResponse>>();
  hookd::Responder other = [got](HttpResponse r) { *got = std::move(r); };
  REQUIRE(cache.admit(refused, 0, other));
  other(answer(503, R"({"code":"unavailable"})"));
  REQUIRE(*got);
  CHECK((*got)->status == 503);
  CHECK(begin(cache, refused).claimed);
}
