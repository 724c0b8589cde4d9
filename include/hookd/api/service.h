// ApiService: the Svix-compatible API (/api/v1) as one unit: its store,
// message index, attempts, credentials and idempotency cache, and the
// routes that serve them on the daemon's Router. Thread-safe; must outlive the server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hookd/api/attempt_feed.h"
#include "hookd/api/attempt_store.h"
#include "hookd/api/auth.h"
#include "hookd/api/idempotency.h"
#include "hookd/api/message_index.h"
#include "hookd/api/model.h"
#include "hookd/api/route_support.h"
#include "hookd/api/store.h"
#include "hookd/core/result.h"
#include "hookd/journal/journal.h"
#include "hookd/server/http_server.h"

namespace hookd::api {

struct ApiOptions {
  std::filesystem::path dir;  // <data-dir>/api
  // Where applications, event types and endpoints are kept instead of files
  // under `dir` (shared by every node: --queue).
  std::shared_ptr<ObjectBacking> backing;
  // When set (--queue), attempts go through it, and every node's come back
  // into this node's store (still kept in `dir`), so all nodes list them all.
  std::shared_ptr<AttemptFeed> attempt_feed;
  std::vector<std::string> tokens;  // static bearer tokens
  std::string jwt_secret;           // svix-server's jwt_secret; "" none
  Limits limits;
  std::size_t max_indexed_messages = 200000;
  std::size_t idempotency_keys = 10000;
  std::int64_t idempotency_ttl_ms = 24 * 3600 * 1000LL;
  int retry_after_seconds = 1;                                  // with 429/503 from the journal
  std::int64_t attempt_retention_ms = 30LL * 24 * 3600 * 1000;  // --attempt-retention
  std::uint64_t attempt_max_bytes = 256ull << 20;               // --attempt-max-bytes
  // --endpoint-disable-after: an endpoint failing without a success this
  // long is disabled (Svix's 5 days).
  std::int64_t endpoint_disable_after_ms = 5LL * 24 * 3600 * 1000;
};

class ApiService {
 public:
  // Loads the store and indexes the journal's messages (start-up: blocks).
  static Result<std::unique_ptr<ApiService>> open(ApiOptions options, Journal& journal);
  // Stops the attempt feed before the store goes, and the journal's shared
  // events from reaching the index.
  ~ApiService();

  // GET /api/v1/health (no credentials) and every other /api/v1 route.
  void add_routes(Router& router);

  // For delivery: the endpoints and their changes (see ApiStore).
  ApiStore& store() { return *store_; }
  MessageIndex& messages() { return messages_; }

  // Delivery's side of resend and recover; set before add_routes.
  void set_redelivery(Redelivery redelivery) { redelivery_ = std::move(redelivery); }
  // One attempt delivery made to an API endpoint (its id, and its app when
  // not given, filled in here); stored off the caller's thread. From any thread.
  void record_attempt(Attempt attempt);
  // The most recent `limit` attempts of a message to one endpoint, oldest
  // first (every node's with --queue: the attempt feed fills the store).
  // Reads the store's files; from any thread.
  std::vector<Attempt> attempts_of(const std::string& msg_id, const std::string& endpoint_id,
                                   std::size_t limit) const;

 private:
  ApiService(ApiOptions options, Journal& journal, std::unique_ptr<ApiStore> store,
             std::unique_ptr<AttemptStore> attempts);
  Status index_journal();
  // With a shared journal (--queue): every node's messages are indexed as
  // the journal reads them, as this node's own are when accepted.
  void index_shared_events();
  // After each stored attempt: disables an endpoint failing too long.
  void disable_if_failing(const Attempt& attempt);

  ApiOptions options_;
  Journal& journal_;
  std::unique_ptr<ApiStore> store_;
  std::unique_ptr<AttemptStore> attempts_;
  Redelivery redelivery_;
  MessageIndex messages_;
  Authenticator auth_;
  IdempotencyCache idempotency_;
  ApiContext context_;
  // What the shared-events listener reaches, on the journal's thread; the
  // destructor empties it, so that a late call finds nothing.
  struct SharedIndex {
    std::mutex mutex;
    MessageIndex* messages = nullptr;
  };
  std::shared_ptr<SharedIndex> shared_index_ = std::make_shared<SharedIndex>();
};

}  // namespace hookd::api
