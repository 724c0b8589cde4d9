#include "hookd/api/service.h"

#include "hookd/api/ids.h"
#include "hookd/api/route_support.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"

namespace hookd::api {

namespace {
// The index's entry of a journal event; nullopt when it is no Svix message.
std::optional<MessageEntry> message_entry_of(const Event& event) {
  if (!event.message) return std::nullopt;
  const MessageFields& fields = *event.message;
  return MessageEntry{event.id,   fields.app_id,   fields.event_id,
                      event.type, fields.channels, event.timestamp};
}
}  // namespace

ApiService::ApiService(ApiOptions options, Journal& journal, std::unique_ptr<ApiStore> store,
                       std::unique_ptr<AttemptStore> attempts)
    : options_(std::move(options)),
      journal_(journal),
      store_(std::move(store)),
      attempts_(std::move(attempts)),
      messages_(options_.max_indexed_messages),
      auth_(options_.tokens, options_.jwt_secret),
      idempotency_(options_.idempotency_keys, options_.idempotency_ttl_ms),
      context_{*store_,         messages_,    journal_,
               auth_,           idempotency_, options_.retry_after_seconds,
               attempts_.get(), &redelivery_} {
  attempts_->on_recorded([this](const Attempt& attempt) { disable_if_failing(attempt); });
  if (options_.attempt_feed) {
    AttemptStore* store = attempts_.get();
    options_.attempt_feed->start([store](std::vector<Attempt> attempts) {
      for (Attempt& attempt : attempts)
        store->append(std::move(attempt));
    });
  }
}

ApiService::~ApiService() {
  if (options_.attempt_feed) options_.attempt_feed->stop();
  std::lock_guard lock(shared_index_->mutex);
  shared_index_->messages = nullptr;
}

Result<std::unique_ptr<ApiService>> ApiService::open(ApiOptions options, Journal& journal) {
  auto store = ApiStore::open(options.dir, options.limits, options.backing);
  if (!store) return store.error();
  AttemptStoreOptions attempt_options{options.dir / "attempts", options.attempt_retention_ms,
                                      options.attempt_max_bytes};
  auto attempts = AttemptStore::open(std::move(attempt_options));
  if (!attempts) return attempts.error();
  std::unique_ptr<ApiService> service(new ApiService(
      std::move(options), journal, std::move(store).value(), std::move(attempts).value()));
  if (auto indexed = service->index_journal(); !indexed) return indexed.error();
  service->index_shared_events();
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
      auto entry = message_entry_of(stored.event);
      if (!entry) continue;
      // Messages of applications deleted since are not listed again.
      bool known =
          store_->read([&](const Model& model) { return model.apps.count(entry->app_id) > 0; });
      if (!known) continue;
      messages_.add(std::move(*entry));
      ++indexed;
    }
  }
  log::info("svix api: messages indexed", {{"messages", indexed}, {"kept", messages_.size()}});
  return Ok{};
}

void ApiService::index_shared_events() {
  shared_index_->messages = &messages_;
  // Not filtered by the applications known here: another node's new
  // application may reach this node's store after its first messages do.
  // MessageIndex::add keeps one entry per id, so this node's own events,
  // indexed when accepted, are not listed twice.
  journal_.on_shared_events([shared = shared_index_](const std::vector<Event>& events) {
    std::lock_guard lock(shared->mutex);
    if (shared->messages == nullptr) return;
    for (const Event& event : events) {
      if (auto entry = message_entry_of(event)) shared->messages->add(std::move(*entry));
    }
  });
}

void ApiService::add_routes(Router& router) {
  for (const char* path :
       {"/api/v1/health", "/api/v1/health/", "/api/v1/health/ping", "/api/v1/health/ping/"}) {
    router.add("GET", path, [](HttpRequest&, Responder respond) { respond(reply_no_content()); });
  }
  // The router tries routes in order (twice per request: once to run, once
  // for the metrics label): the busiest, message create, comes first.
  add_message_routes(router, context_);
  add_application_routes(router, context_);
  add_event_type_routes(router, context_);
  add_endpoint_routes(router, context_);
  add_attempt_routes(router, context_);
  router.add_not_found("/api/v1/", [](HttpRequest& request, Responder respond) {
    respond(reply_error(404, "not_found", "no such resource: " + request.path));
  });
}

void ApiService::record_attempt(Attempt attempt) {
  attempt.id = new_id("atmpt_");
  if (attempt.app_id.empty()) {
    attempt.app_id = store_->read([&](const Model& model) -> std::string {
      for (const auto& [app_id, endpoints] : model.endpoints) {
        if (endpoints.count(attempt.endpoint_id)) return app_id;
      }
      return {};
    });
  }
  if (options_.attempt_feed) return options_.attempt_feed->publish(attempt);
  attempts_->append(std::move(attempt));
}

std::vector<Attempt> ApiService::attempts_of(const std::string& msg_id,
                                             const std::string& endpoint_id,
                                             std::size_t limit) const {
  ListQuery query;
  query.limit = limit;
  AttemptFilter filter;
  filter.endpoint_id = endpoint_id;
  std::vector<Attempt> newest_first;
  attempts_->list_by_message(msg_id, query, filter, newest_first);
  return {std::make_move_iterator(newest_first.rbegin()),
          std::make_move_iterator(newest_first.rend())};
}

void ApiService::disable_if_failing(const Attempt& attempt) {
  if (attempt.status == kAttemptSuccess) return;
  const std::int64_t now = now_unix_ms();
  const EndpointHealth health = attempts_->health(attempt.endpoint_id);
  if (!should_disable(health, now, options_.endpoint_disable_after_ms)) return;
  // The clock starts again: once enabled, the endpoint gets the whole
  // period before it is disabled again.
  attempts_->reset_health(attempt.endpoint_id);
  const std::int64_t since = *health.failing_since_ms;
  ApiStore* store = store_.get();
  store_->change(
      [&](Model& model) -> Change {
        Endpoint* endpoint = model.find_endpoint(attempt.app_id, attempt.endpoint_id);
        if (!endpoint || endpoint->disabled) return Change{304, {}, {}, {}, false};
        Endpoint before = *endpoint;
        endpoint->disabled = true;
        endpoint->updated_ms = now;
        Change change{200, {}, {store->save(*endpoint)}, {}, true};
        change.undo = [before](Model& model) {
          if (Endpoint* e = model.find_endpoint(before.app_id, before.id)) *e = before;
        };
        return change;
      },
      [endpoint = attempt.endpoint_id, app = attempt.app_id, since](int status, std::string) {
        if (status != 200) return;
        static Counter& disabled =
            metrics().counter("hookd_api_endpoints_disabled_total",
                              "API endpoints disabled after failing for --endpoint-disable-after");
        disabled.inc();
        log::warn("svix api: endpoint disabled: no successful delivery since failing_since",
                  {{"endpoint", endpoint}, {"app", app}, {"failing_since", format_rfc3339(since)}});
      });
}

}  // namespace hookd::api
