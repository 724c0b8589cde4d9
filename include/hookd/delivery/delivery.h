// Delivery: sends every journaled event to each SIEM endpoint that subscribes
// to its type (Standard Webhooks, Splunk HEC or NDJSON), retried on a
// schedule until delivered or moved to the endpoint's durable dead-letter
// list. Each endpoint is its own journal consumer ("endpoint:<name>") with its
// own cursor and connection pool, so one slow endpoint never holds up another.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/result.h"
#include "hookd/core/signature.h"
#include "hookd/delivery/https_client.h"
#include "hookd/server/http_server.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;

enum class EndpointFormat { webhook, splunk_hec, ndjson };

std::string_view format_name(EndpointFormat format);

// One --endpoint flag: 'name=NAME,url=URL[,key=value...]'. Values cannot
// contain ',' (the separator); a value may contain '='.
struct EndpointSpec {
  std::string name;                      // [A-Za-z0-9_.-], 1..64 chars
  std::string url;                       // http(s)://..., as given
  std::vector<std::string> events{"*"};  // event types; "*" = all
  EndpointFormat format = EndpointFormat::webhook;
  std::optional<WebhookSecret> secret;  // webhook only: signs every request
  std::string token;                    // splunk-hec only: "Authorization: Splunk <token>"
  std::vector<std::pair<std::string, std::string>> headers;  // extra, in order
  std::string ca;                                            // CA bundle (PEM); empty: system CAs
  std::string cert;  // mTLS client certificate (PEM), with key
  std::string key;
  std::chrono::milliseconds timeout{15000};  // one attempt, connect to response
  std::size_t connections = 4;               // keep-alive pool, = requests in flight
  std::size_t batch = 100;                   // events per request (batched formats)
  bool gzip = false;                         // batched formats only

  bool accepts(std::string_view type) const;
};

// Errors name the endpoint and the key: `endpoint "siem": unknown key "fromat"`.
// Checks that ca/cert/key files exist, so a typo fails at start-up.
Result<EndpointSpec> parse_endpoint_spec(std::string_view text);

// Comma-separated durations ("250ms", "5s", "1.5s", "5m", "2h"; a bare number
// is seconds): "5s,5m,30m,2h". Entry i is the wait after failed attempt i+1,
// so N entries mean N+1 attempts in all.
Result<std::vector<std::chrono::milliseconds>> parse_retry_schedule(std::string_view text);

std::vector<std::chrono::milliseconds> default_retry_schedule();  // 5s,5m,30m,2h,5h,10h,10h

struct DeliveryOptions {
  std::vector<EndpointSpec> endpoints;
  std::vector<std::chrono::milliseconds> retry_schedule = default_retry_schedule();
  double jitter = 0.2;  // each wait is scheduled * uniform(1 - jitter, 1 + jitter)
  // 429, 502, 504 and timeouts wait at least this long (--min-backoff).
  std::chrono::milliseconds min_backoff_throttled{std::chrono::seconds(60)};
  std::filesystem::path dir;  // <data-dir>/delivery: endpoint state, dead letters
  // Per endpoint: events held in memory (in flight, ready or awaiting a retry).
  std::size_t window = 1000;
  std::string admin_token;              // empty: the /v1/endpoints admin routes answer 403
  std::string user_agent;               // empty: "hookd/<HOOKD_VERSION>"
  std::size_t status_events = 10000;    // events whose attempts GET /v1/events/{id} shows
  std::size_t max_attempts_shown = 20;  // per event and endpoint (the most recent)
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

  // GET /v1/endpoints, POST /v1/endpoints/{name}/replay,
  // POST /v1/endpoints/{name}/enable; all need "Authorization: Bearer
  // <admin_token>" (endpoint URLs and headers may carry secrets).
  void add_routes(Router& router);

  // {"<endpoint>":{"state":"delivered|pending|dead_letter|filtered",
  // "attempts":[{"at":…,"status":…,"error":…,"duration_ms":…}]}} for
  // GET /v1/events/{id}; nullopt without endpoints. Thread-safe.
  std::optional<std::string> status_json(std::string_view event_id) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// --- The pure pieces, exposed for tests and benches. ---

// One webhook POST: body = to_json(event), Standard Webhooks headers signed
// at `now_unix` when the endpoint has a secret.
OutgoingRequest make_webhook_request(const EndpointSpec& spec, const Event& event,
                                     std::int64_t now_unix, std::string_view user_agent);

// Splunk HEC: one {"time","host","source":"hookd","sourcetype":"hookd:<type>",
// "event"} object per event, newline-separated. `time` is the event timestamp.
std::string splunk_hec_body(const std::vector<Event>& events, std::string_view host);
// One event JSON per line.
std::string ndjson_body(const std::vector<Event>& events);
// A batched POST (splunk-hec or ndjson), gzip'ed when the spec says so.
OutgoingRequest make_batch_request(const EndpointSpec& spec, const std::vector<Event>& events,
                                   std::string_view host, std::string_view user_agent);

// gzip (RFC 1952) of `data`, as for Content-Encoding: gzip.
std::string gzip_compress(std::string_view data);

// A Retry-After value (delta-seconds or HTTP-date) as a wait from `now_unix`.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_unix);

// The wait before the next attempt: scheduled * (1 + jitter * (2 * random01 - 1)),
// then Retry-After clamped to [that, 2 x that], then at least `min_throttled`
// when the failure was a throttle (429, 502, 504, timeout).
std::chrono::milliseconds retry_delay(std::chrono::milliseconds scheduled, double jitter,
                                      double random01,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      bool throttled, std::chrono::milliseconds min_throttled);

// The endpoint URL without user:password@ (for display).
std::string redact_url(std::string_view url);

}  // namespace hookd
