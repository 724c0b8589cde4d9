#include "hookd/api/service.h"

#include "hookd/core/log.h"

namespace hookd::api {

ApiService::ApiService(ApiOptions options, Journal& journal, std::unique_ptr<ApiStore> store)
    : options_(std::move(options)),
      journal_(journal),
      store_(std::move(store)),
      messages_(options_.max_indexed_messages),
      auth_(options_.tokens, options_.jwt_secret),
      idempotency_(options_.idempotency_keys, options_.idempotency_ttl_ms),
      context_{*store_, messages_, journal_, auth_, idempotency_, options_.retry_after_seconds} {}

Result<std::unique_ptr<ApiService>> ApiService::open(ApiOptions options, Journal& journal) {
  auto store = ApiStore::open(options.dir, options.limits);
  if (!store) return store.error();
  std::unique_ptr<ApiService> service(
      new ApiService(std::move(options), journal, std::move(store).value()));
  if (auto indexed = service->index_journal(); !indexed) return indexed.error();
  if (!service->auth_.configured()) {
    log::warn("svix api: no --api-token or --api-jwt-secret: every /api/v1 request gets 403");
  }
  return service;
}

Status ApiService::index_journal() {
  constexpr std::size_t kBatch = 1000;
  std::uint64_t after = 0;
  std::size_t indexed = 0;
  while (true) {
    auto batch = journal_.read(after, kBatch);
    if (!batch) return make_error("svix api: reading the journal: " + batch.error().message);
    if (batch->empty()) break;
    for (StoredEvent& stored : *batch) {
      after = stored.seq;
      if (!stored.event.message) continue;
      MessageFields& fields = *stored.event.message;
      // Messages of applications deleted since are not listed again.
      bool known =
          store_->read([&](const Model& model) { return model.apps.count(fields.app_id) > 0; });
      if (!known) continue;
      messages_.add(MessageEntry{stored.event.id, fields.app_id, fields.event_id, stored.event.type,
                                 fields.channels, stored.event.timestamp});
      ++indexed;
    }
  }
  log::info("svix api: messages indexed", {{"messages", indexed}, {"kept", messages_.size()}});
  return Ok{};
}

void ApiService::add_routes(Router& router) {
  for (const char* path :
       {"/api/v1/health", "/api/v1/health/", "/api/v1/health/ping", "/api/v1/health/ping/"}) {
    router.add("GET", path, [](HttpRequest&, Responder respond) { respond(reply_no_content()); });
  }
  add_application_routes(router, context_);
  add_event_type_routes(router, context_);
  add_endpoint_routes(router, context_);
  add_message_routes(router, context_);
}

}  // namespace hookd::api
