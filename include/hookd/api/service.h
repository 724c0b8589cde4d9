// ApiService: the Svix-compatible API (/api/v1) as one unit: its store,
// message index, credentials and idempotency cache, and the routes that
// serve them on the daemon's Router. Thread-safe; must outlive the server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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
  std::filesystem::path dir;        // <data-dir>/api
  std::vector<std::string> tokens;  // static bearer tokens
  std::string jwt_secret;           // svix-server's jwt_secret; "" none
  Limits limits;
  std::size_t max_indexed_messages = 200000;
  std::size_t idempotency_keys = 10000;
  std::int64_t idempotency_ttl_ms = 24 * 3600 * 1000LL;
  int retry_after_seconds = 1;  // with 429/503 from the journal
};

class ApiService {
 public:
  // Loads the store and indexes the journal's messages (start-up: blocks).
  static Result<std::unique_ptr<ApiService>> open(ApiOptions options, Journal& journal);

  // GET /api/v1/health (no credentials) and every other /api/v1 route.
  void add_routes(Router& router);

  // For delivery: the endpoints and their changes (see ApiStore).
  ApiStore& store() { return *store_; }
  MessageIndex& messages() { return messages_; }

 private:
  ApiService(ApiOptions options, Journal& journal, std::unique_ptr<ApiStore> store);
  Status index_journal();

  ApiOptions options_;
  Journal& journal_;
  std::unique_ptr<ApiStore> store_;
  MessageIndex messages_;
  Authenticator auth_;
  IdempotencyCache idempotency_;
  ApiContext context_;
};

}  // namespace hookd::api
