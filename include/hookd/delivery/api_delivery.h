// ApiDelivery: sends the Svix API's messages to the endpoints made through
// the API. Each endpoint is an EndpointWorker and its own journal consumer
// ("api:<endpoint id>") reading after its own cursor, so one slow endpoint
// never holds another up; its dead letters and state are <dir>/<id>.*.
//
// The endpoints follow the API's set (update() after every change):
// - a new endpoint's consumer starts at the journal's end (Svix delivers only
//   messages created after the endpoint), registered before update()
//   returns, so a message created once the API answered reaches it;
// - filters, channels, headers, secrets and `disabled` are live settings:
//   they apply to the next event the worker reads or the next attempt it
//   makes; a disabled endpoint keeps its backlog until enabled again;
// - a new URL restarts the worker (a connection pool serves one origin);
// - a deleted endpoint's worker stops, its consumer is unregistered (its
//   backlog is dropped), its files and scrape-time metrics go.
//
// Thread-safe; the workers run on `io`.
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
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/attempt_report.h"
#include "hookd/delivery/event_status_log.h"
#include "hookd/delivery/retry_policy.h"
#include "hookd/delivery/svix_endpoint.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class Journal;
class SharedDeadLetters;
struct StoredEvent;

// An API endpoint's journal consumer is <kApiConsumerPrefix><endpoint id>.
inline constexpr const char* kApiConsumerPrefix = "api:";

// One attempt of a message to an endpoint as the API's attempt store has it.
struct SharedAttempt {
  bool success = false;
  bool manual = false;  // a resend by hand (Svix triggerType 1)
  AttemptRecord record;
};
// The most recent `limit` attempts of message `msg_id` to `endpoint_id`,
// oldest first, of every node; from any thread.
using SharedAttemptLookup = std::function<std::vector<SharedAttempt>(
    const std::string& msg_id, const std::string& endpoint_id, std::size_t limit)>;

struct ApiDeliveryOptions {
  std::filesystem::path dir;  // <data-dir>/delivery/api
  std::string ca_file;        // trust store for API endpoints (PEM); empty: system CAs
  std::vector<std::chrono::milliseconds> retry_schedule = default_retry_schedule();
  double jitter = 0.2;
  std::chrono::milliseconds min_backoff_throttled{std::chrono::seconds(60)};
  std::size_t window = 1000;                 // events held in memory, per endpoint
  std::chrono::milliseconds timeout{15000};  // one attempt
  std::size_t connections = 4;               // per endpoint
  std::string user_agent;                    // empty: "hookd/<HOOKD_VERSION>"
  AttemptListener on_attempt;                // every attempt, on `io`
  // When set (--queue), the endpoints' dead letters are every node's: a
  // recover asked of any node re-queues them for whichever node's worker
  // reads them next (endpoint_worker.h), and a deleted endpoint's go.
  std::shared_ptr<SharedDeadLetters> shared_dead_letters;
  // When set (--queue), status_json() shows these attempts (every node's)
  // and the state they imply, so every node answers the same; otherwise
  // this node's own attempts and states.
  SharedAttemptLookup shared_attempts;
  std::size_t max_attempts_shown = 20;  // per endpoint and event (the most recent)
};

class ApiDelivery {
 public:
  ApiDelivery(boost::asio::io_context& io, Journal& journal, ApiDeliveryOptions options);
  ~ApiDelivery();
  ApiDelivery(const ApiDelivery&) = delete;
  ApiDelivery& operator=(const ApiDelivery&) = delete;

  // Starts a worker for each endpoint the API has (blocking file I/O:
  // before the reactors run), and forgets the files and consumers of
  // endpoints deleted while hookd was down. An endpoint whose URL the
  // client refuses is logged and left without a worker.
  Status start(std::vector<SvixEndpointSettings> endpoints);

  // The API's whole endpoint set after a change; from any thread.
  void update(std::vector<SvixEndpointSettings> endpoints);

  // Svix's resend and recover: manual attempts, queued on `io`. Nothing
  // happens for an endpoint that has no running worker or is disabled.
  void resend(const std::string& endpoint_id, const std::string& message_id);
  void recover(const std::string& endpoint_id, std::int64_t since_ms,
               std::optional<std::int64_t> until_ms);

  // Stops the workers (in-flight attempts are made again after the next
  // start), commits their cursors, then runs `done` on `io`.
  void stop(std::function<void()> done);

  // {"<endpoint id>":{"state":…,"attempts":[…]}} over the endpoints of the
  // message's application, for GET /v1/events/{id}; nullopt when the
  // event is no message or no endpoint of its application runs. With
  // shared attempts the state is what they say: delivered once one
  // succeeded, dead_letter once the scheduled ones failed as often as the
  // retry schedule allows, else pending (filtered by the endpoint's filters).
  std::optional<std::string> status_json(const StoredEvent& stored) const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace hookd
