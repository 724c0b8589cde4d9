// Delivery: sends every journaled event to each SIEM endpoint that subscribes
// to its type (Standard Webhooks, Splunk HEC, NDJSON, a local file, syslog),
// retried on a schedule until delivered or moved to the endpoint's durable
// dead-letter list. Each endpoint is its own EndpointWorker and journal
// consumer ("endpoint:<name>") with its own cursor and transport, so one
// slow endpoint never holds up another. Delivery owns the workers, wakes
// them when the journal grows, reloads them on SIGHUP, and serves the
// /v1/endpoints admin routes.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/formats.h"
#include "hookd/delivery/https_client.h"
#include "hookd/delivery/retry_policy.h"
#include "hookd/server/http_server.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;
class SharedDeadLetters;
class SharedTally;
struct StoredEvent;

struct DeliveryOptions {
  std::vector<EndpointSpec> endpoints;  // at start: the flags' and the endpoints file's
  // What reload() reads again: the --endpoint texts and the --endpoints-file
  // (empty: none; reload() then only reopens files).
  std::vector<std::string> endpoint_flags;
  std::filesystem::path endpoints_file;
  std::vector<std::chrono::milliseconds> retry_schedule = default_retry_schedule();
  double jitter = 0.2;  // each wait is scheduled * uniform(1 - jitter, 1 + jitter)
  // 429, 502, 504 and timeouts wait at least this long (--min-backoff).
  std::chrono::milliseconds min_backoff_throttled{std::chrono::seconds(60)};
  std::filesystem::path dir;  // <data-dir>/delivery: endpoint state, dead letters
  // Per endpoint: events held in memory (in flight, ready or awaiting a retry).
  std::size_t window = 1000;
  std::string admin_token;  // empty: the /v1/endpoints admin routes answer 403
  std::string user_agent;   // empty: "hookd/<HOOKD_VERSION>"
  std::size_t status_events =
      10000;  // per endpoint: events whose attempts GET /v1/events/{id} shows
  std::size_t max_attempts_shown = 20;  // per event and endpoint (the most recent)
  // With --queue: the counters GET /v1/endpoints shows, shared by all nodes.
  std::shared_ptr<SharedTally> shared_tally;
  // With --queue: every endpoint's dead letters, shared by all nodes.
  std::shared_ptr<SharedDeadLetters> shared_dead_letters;
};

class Delivery {
 public:
  // Everything runs on `io`; `journal` must outlive the Delivery.
  Delivery(boost::asio::io_context& io, Journal& journal, DeliveryOptions options);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Creates the clients, loads endpoint state and dead letters from dir,
  // registers one journal consumer per endpoint and starts sending. Blocking
  // file I/O: call before the reactors run.
  Status start();

  // Stops sending (in-flight attempts are abandoned and re-sent after the
  // next start), waits for pending dead-letter writes, commits the cursors,
  // then runs `done` on the io_context.
  void stop(std::function<void()> done);

  // SIGHUP: file endpoints open their files again (logrotate), and the
  // endpoints file is read again: endpoints it adds start, those it drops
  // stop and forget their cursor, changed ones restart with the new spec.
  // A file that does not parse changes nothing (logged). Thread-safe.
  void reload();

  // GET /v1/endpoints, POST /v1/endpoints/{name}/replay,
  // POST /v1/endpoints/{name}/enable. The POSTs check "Authorization: Bearer
  // <admin_token>" themselves; GET relies on the router's gate
  // (server/route_access.h), which also lets API tokens read.
  void add_routes(Router& router);

  // {"<endpoint>":{"state":"delivered|pending|dead_letter|filtered",
  // "attempts":[{"at":…,"status":…,"error":…,"duration_ms":…}]}} for
  // GET /v1/events/{id} of `stored`; nullopt without endpoints. Thread-safe.
  std::optional<std::string> status_json(const StoredEvent& stored) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
