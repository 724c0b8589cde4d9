// DeliveryWindow: the events one endpoint holds in memory (new, due for a
// retry, waiting for one, in flight) up to a limit, read from the journal
// after the endpoint's cursor; and the cursor itself, which passes an event
// only once it is finished (delivered, dead-lettered or filtered out). Not
// thread-safe: one endpoint worker owns it; LiveCounts may be read anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "hookd/delivery/formats.h"

namespace hookd {

class Journal;
class EventStatusLog;

// One event as the worker carries it.
struct PendingEvent {
  std::uint64_t seq = 0;  // journal position; 0 for replays (already behind the cursor)
  RenderedEvent event;
  std::int64_t arrival_ms = 0;
  bool from_dead_letters = false;
  // Resent by hand (Svix resend and recover): one attempt, never retried.
  bool manual = false;
};

// What one request carries: one event (webhook) or a batch, retried as a unit.
struct OutgoingBatch {
  std::vector<PendingEvent> events;
  std::size_t failures = 0;  // failed attempts counted against the schedule
  std::string body;          // batched formats: built once, the same on every retry
  bool body_built = false;
};
using BatchPtr = std::shared_ptr<OutgoingBatch>;

// Read by the backlog gauge at scrape time, from any thread.
struct LiveCounts {
  std::atomic<std::uint64_t> cursor{0};
  std::atomic<std::uint64_t> replay{0};  // replayed events queued or held
};

// A replay {"since": …}: journal events after `after` up to `end` again.
struct SinceScan {
  std::uint64_t after = 0;  // last seq looked at
  std::uint64_t end = 0;    // stop after this seq (the read position when it began)
  std::int64_t since_ms = 0;
};

class DeliveryWindow {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DeliveryWindow(std::size_t limit);

  // Reads on after `cursor`, the committed position of `consumer` (whose
  // share a shared journal hands out: Journal::read_for).
  void start_at(std::uint64_t cursor, std::string consumer = {});

  struct FillResult {
    bool more = false;  // stopped at the read budget with more to look at
    // The first journal read error after a success (later ones are quiet).
    std::optional<std::string> read_error;
  };
  // Moves events into the window: queued replays, then a since-scan, then
  // the journal after the read position (an event another node had failed
  // to deliver waits for its retry: StoredEvent::failures). Records each
  // event's state in `log`.
  FillResult fill(Journal& journal, const EndpointSpec& spec, EventStatusLog& log);

  // The next request: a retry that is due, else up to `batch` new events;
  // null when there is neither.
  BatchPtr next_batch(std::size_t batch);

  void retry_at(Clock::time_point due, BatchPtr batch);
  void retry_first(BatchPtr batch);  // before every other ready request
  void release_due(Clock::time_point now);
  std::optional<Clock::time_point> next_retry() const;
  // Until the next request may go: zero with work ready, else the wait for
  // the next retry; nullopt when there is nothing to send.
  std::optional<Clock::duration> next_attempt_in(Clock::time_point now) const;

  // The batch's events leave the window, delivered or (`dead_lettered`)
  // given up; either way a dead letter it replayed may be replayed again.
  void finish(const OutgoingBatch& batch, bool dead_lettered);

  // Moves the cursor over the finished events; true when it moved.
  bool advance_cursor();

  // Starts a replay of journal events that arrived at or after `since_ms`,
  // from the oldest retained (`first_seq`) up to the read position.
  SinceScan replay_since(std::uint64_t first_seq, std::int64_t since_ms);
  // Queues dead letters for a replay, skipping those already being replayed
  // and those `is_dead` no longer lists. Returns how many were queued.
  std::size_t queue_replays(std::vector<PendingEvent> events,
                            const std::function<bool(const std::string& id)>& is_dead);
  // Queues one event sent again by hand (seq 0: the cursor is not involved).
  void queue_manual(PendingEvent event);

  std::uint64_t read_seq() const { return read_seq_; }
  std::uint64_t cursor() const { return live_->cursor.load(); }
  std::size_t held() const { return held_; }
  const std::shared_ptr<LiveCounts>& live() const { return live_; }

 private:
  std::size_t fill_since(Journal& journal, const EndpointSpec& spec, EventStatusLog& log,
                         std::size_t budget);

  const std::size_t limit_;
  std::uint64_t read_seq_ = 0;
  std::string consumer_;
  std::set<std::uint64_t> unfinished_;                  // journal events in the window
  std::deque<PendingEvent> fresh_;                      // not yet sent
  std::deque<BatchPtr> ready_;                          // retries that are due
  std::multimap<Clock::time_point, BatchPtr> waiting_;  // retries not yet due
  // Events in memory: fresh + ready + waiting + in flight + being dead-lettered.
  std::size_t held_ = 0;
  std::deque<PendingEvent> replay_queue_;  // replayed, waiting for room
  std::optional<SinceScan> since_;
  std::unordered_set<std::string> replaying_;  // dead letters being replayed
  bool read_failing_ = false;
  std::shared_ptr<LiveCounts> live_ = std::make_shared<LiveCounts>();
};

}  // namespace hookd
