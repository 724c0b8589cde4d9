// EndpointWorker: one endpoint's delivery loop. It is its own journal
// consumer ("endpoint:<name>"): it reads after its cursor into a bounded
// window, sends over its own connection pool, retries on the RetryPolicy,
// dead-letters what the schedule gives up on, and commits the cursor past
// every finished event. All its durable state (the cursor,
// <dir>/<name>.state.json, <dir>/<name>.dead-letters.jsonl) is keyed by the
// endpoint's name, so a worker can be created, started and stopped on its
// own while others run. Runs on one io_context; // status_json() are thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/result.h"
#include "hookd/delivery/attempt_report.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/retry_policy.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

class BlockingIoThread;
class Journal;
class SharedDeadLetters;
class SharedTally;
struct StoredEvent;

// What the workers of one Delivery share.
struct EndpointWorkerContext {
  boost::asio::io_context* io = nullptr;  // every worker's callbacks run here
  Journal* journal = nullptr;
  std::shared_ptr<BlockingIoThread> files;  // the durable writes, in order
  // The journal's newest durable seq, kept up to date by the Delivery.
  std::shared_ptr<std::atomic<std::uint64_t>> last_seq;
  std::filesystem::path dir;  // the endpoints' state and dead-letter files
  RetryPolicy retry;
  std::size_t window = 1000;            // events held in memory, per endpoint
  std::size_t status_events = 10000;    // events whose attempts status_json() shows
  std::size_t max_attempts_shown = 20;  // per event (the most recent)
  std::string user_agent;
  std::string host;  // this machine's name: Splunk HEC envelopes, syslog HOSTNAME
  // The journal consumer is <consumer_prefix><name> ("api:" for Svix API endpoints).
  std::string consumer_prefix = "endpoint:";
  AttemptListener on_attempt;  // when set, told of every attempt
  // When set (--queue), GET /v1/endpoints' counters are every node's.
  std::shared_ptr<SharedTally> shared_tally;
  // When set (--queue), dead letters are kept there instead of in `dir`, and
  // a replay re-queues them for whichever node's worker reads them next.
  std::shared_ptr<SharedDeadLetters> shared_dead_letters;
};

// One endpoint as GET /v1/endpoints shows it.
struct EndpointSummary {
  std::string name;
  std::string url;  // without credentials
  EndpointFormat format = EndpointFormat::webhook;
  std::vector<std::string> events;
  bool disabled = false;
  std::string disabled_reason;
  std::string disabled_at;
  std::uint64_t cursor = 0;
  std::uint64_t backlog = 0;  // journal events after the cursor, plus replays
  std::size_t in_flight = 0;
  std::size_t dead_letters = 0;
  std::string last_error;  // empty: none yet
  int last_status = 0;     // 0: none yet
  // Now when work is ready; the next retry's time; nullopt when idle or disabled.
  std::optional<std::int64_t> next_attempt_unix_ms;
  std::uint64_t delivered_total = 0;
  std::uint64_t failed_total = 0;
};

// What POST .../replay {"since": …} will scan: journal seqs from_seq..to_seq.
struct SinceReplay {
  std::uint64_t from_seq = 0;
  std::uint64_t to_seq = 0;
};

class EndpointWorker {
 public:
  static std::shared_ptr<EndpointWorker> create(const EndpointWorkerContext& context,
                                                EndpointSpec spec);
  virtual ~EndpointWorker() = default;

  virtual const EndpointSpec& spec() const = 0;

  // Creates the connection pool, loads the endpoint's state and dead letters
  // (compacting them), registers its journal consumer and metrics. Blocking
  // file I/O: call before the io_context runs, or on a BlockingIoThread. The
  // loop starts with the first wake().
  virtual Status start() = 0;

  // New journal events may be there (or a periodic nudge): fill the window
  // and send. On the io_context.
  virtual void wake() = 0;

  // Stops sending (in-flight attempts are abandoned and re-sent after the
  // next start), lets pending dead-letter writes finish, commits the cursor,
  // then runs `done`. On the io_context.
  virtual void stop(std::function<void()> done) = 0;

  // Re-enables an endpoint a 410 Gone disabled, and sends again.
  virtual void enable() = 0;

  // SIGHUP: a file endpoint opens its file again by name (logrotate moved
  // it); other endpoints have nothing to reopen. On the io_context.
  virtual void reopen() = 0;

  // Replays journal events that arrived at or after `since_ms`, up to where
  // the worker has read; the next wake() starts them.
  virtual SinceReplay replay_since(std::int64_t since_ms) = 0;

  // Re-sends every dead letter not already being replayed; `done` gets how
  // many were queued, or an error (the worker went away meanwhile, the
  // shared dead letters could not be reached).
  using ReplayDone = std::function<void(Result<std::size_t>)>;
  virtual void replay_dead_letters(ReplayDone done) = 0;

  // Svix's resend: one manual attempt of `stored`, whatever the filters,
  // not retried when it fails. On the io_context.
  virtual void send_manual(const StoredEvent& stored) = 0;
  // Svix's recover: one manual attempt of each dead letter that arrived in
  // [since_ms, until_ms]; `done` as for replay_dead_letters.
  // With shared dead letters they are re-queued like a replay (and retried).
  virtual void recover_dead_letters(std::int64_t since_ms, std::optional<std::int64_t> until_ms,
                                    ReplayDone done) = 0;

  // On the io_context. `journal_last_seq`: the newest durable seq.
  virtual EndpointSummary summary(std::uint64_t journal_last_seq) const = 0;

  // {"state":…,"attempts":[…]} for `stored`; for an event the worker has
  // not seen recently, the state follows from its filter and the cursor.
  virtual std::string status_json(const StoredEvent& stored) const = 0;
};

}  // namespace hookd
