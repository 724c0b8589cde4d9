// Ingest and operations routes: POST /v1/events, GET /v1/events/{id},
// /healthz, /readyz and /metrics, as plain Router handlers over a Journal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/signature.h"
#include "hookd/journal/journal.h"
#include "hookd/server/router.h"

namespace hookd {

struct IngestOptions {
  // Not empty: every POST must carry valid Standard Webhooks headers, signed
  // by any one of these (more than one while a sender rotates its secret).
  std::vector<WebhookSecret> inbound_secrets;
  std::int64_t signature_tolerance_seconds = 300;
  std::size_t max_events_per_request = 10000;
  int retry_after_seconds = 1;  // for 429, 503 and 507
  // Distinct event types counted by name in hookd_events_accepted_total;
  // the rest are counted as "other" (types are chosen by the caller).
  std::size_t max_type_labels = 100;
  // Journal consumers that have not finished an event until their cursor
  // passes it (the hook runner): GET /v1/events/{id} says "processing" then.
  std::vector<std::string> tracked_consumers;
};

// Extra sections of GET /v1/events/{id}: each returns JSON text for its key,
// or nullopt to leave the key out. Given the event the route looked up once,
// so no view reads the journal again. Called on a reactor thread: must not
// block.
using EventStatusView = std::function<std::optional<std::string>(const StoredEvent& stored)>;

// One part of GET /readyz. `check` fills detail_json (JSON text; empty means
// just the boolean) and says whether that part is ready. Must not block.
struct ReadinessCheck {
  std::string name;
  std::function<bool(std::string& detail_json)> check;
};

// POST /v1/events and GET /v1/events/{id}. `journal` must outlive the router.
void add_event_routes(Router& router, Journal& journal, IngestOptions options,
                      std::vector<std::pair<std::string, EventStatusView>> views = {});

// GET /healthz, /readyz (journal writable and every check passes) and /metrics.
void add_ops_routes(Router& router, Journal& journal, std::vector<ReadinessCheck> checks = {});

}  // namespace hookd
