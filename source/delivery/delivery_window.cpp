#include "hookd/delivery/delivery_window.h"

#include <algorithm>

#include "hookd/core/rfc3339.h"
#include "hookd/delivery/dead_letters.h"
#include "hookd/delivery/endpoint_spec.h"
#include "hookd/delivery/event_status_log.h"
#include "hookd/journal/journal.h"

namespace hookd {

namespace {

constexpr std::size_t kReadChunk = 512;    // events per journal read
constexpr std::size_t kReadBudget = 4096;  // events looked at per fill, then yield

PendingEvent pending_event(const StoredEvent& stored, const EndpointSpec& spec, bool track) {
  PendingEvent e;
  e.seq = track ? stored.seq : 0;
  e.event = render_event_for(spec, stored.event);
  e.arrival_ms = stored.event.arrival_unix_ms;
  return e;
}

// A dead letter a shared queue re-queued: what it was sent before, sent
// again as it was, its seq tracked like any event's so the group learns when
// it is done. nullopt when the line is damaged.
std::optional<PendingEvent> replayed_dead_letter(const StoredEvent& stored) {
  DeadLetterScan scan = parse_dead_letters(stored.dead_letter);
  if (scan.live.size() != 1) return std::nullopt;
  DeadLetter& letter = scan.live.front();
  PendingEvent e;
  e.seq = stored.seq;
  e.event = RenderedEvent{std::move(letter.id), std::move(letter.type),
                          std::move(letter.event_json), letter.time_ms};
  e.arrival_ms = letter.arrival_unix_ms;
  return e;
}

}  // namespace

DeliveryWindow::DeliveryWindow(std::size_t limit) : limit_(std::max<std::size_t>(limit, 1)) {}

void DeliveryWindow::start_at(std::uint64_t cursor, std::string consumer) {
  read_seq_ = cursor;
  consumer_ = std::move(consumer);
  live_->cursor = cursor;
}

DeliveryWindow::FillResult DeliveryWindow::fill(Journal& journal, const EndpointSpec& spec,
                                                EventStatusLog& log) {
  FillResult result;
  while (held_ < limit_ && !replay_queue_.empty()) {
    fresh_.push_back(std::move(replay_queue_.front()));
    replay_queue_.pop_front();
    ++held_;
  }
  std::size_t budget = fill_since(journal, spec, log, kReadBudget);
  while (held_ < limit_ && budget > 0) {
    auto chunk =
        journal.read_for(consumer_, read_seq_, std::min({kReadChunk, limit_ - held_, budget}));
    if (!chunk) {
      if (!read_failing_) result.read_error = chunk.error().message;
      read_failing_ = true;
      break;
    }
    read_failing_ = false;
    if (chunk->empty()) break;
    for (auto& stored : *chunk) {
      if (stored.seq <= read_seq_) continue;
      read_seq_ = stored.seq;
      if (budget > 0) --budget;
      if (!stored.dead_letter.empty()) {
        // Accepted when it was given up on: a replay sends it whatever the
        // filter says now.
        auto replayed = replayed_dead_letter(stored);
        if (!replayed) continue;  // passed by the cursor like a filtered event
        unfinished_.insert(stored.seq);
        ++held_;
        log.set_state(replayed->event.id, DeliveryState::pending);
        fresh_.push_back(std::move(*replayed));
        continue;
      }
      if (!spec.accepts(stored.event)) {
        log.set_state(stored.event.id, DeliveryState::filtered);
        continue;
      }
      unfinished_.insert(stored.seq);
      ++held_;
      if (stored.failures > 0) {
        // Another node had failed it already: its schedule goes on here.
        auto batch = std::make_shared<OutgoingBatch>();
        batch->events.push_back(pending_event(stored, spec, true));
        batch->failures = stored.failures;
        auto wait = std::max<std::int64_t>(stored.retry_due_unix_ms - now_unix_ms(), 0);
        waiting_.emplace(Clock::now() + std::chrono::milliseconds(wait), std::move(batch));
      } else {
        fresh_.push_back(pending_event(stored, spec, true));
      }
      log.set_state(stored.event.id, DeliveryState::pending);
    }
  }
  result.more = budget == 0;
  return result;
}

// Returns the budget left.
std::size_t DeliveryWindow::fill_since(Journal& journal, const EndpointSpec& spec,
                                       EventStatusLog& log, std::size_t budget) {
  while (since_ && held_ < limit_ && budget > 0) {
    SinceScan& scan = *since_;
    if (scan.after >= scan.end) {
      since_.reset();
      break;
    }
    auto chunk = journal.read(scan.after, std::min({kReadChunk, limit_ - held_, budget}));
    if (!chunk || chunk->empty()) {
      since_.reset();
      break;
    }
    for (auto& stored : *chunk) {
      if (stored.seq > scan.end) {
        scan.after = scan.end;
        break;
      }
      scan.after = stored.seq;
      --budget;
      std::int64_t t = stored.event.arrival_unix_ms != 0 ? stored.event.arrival_unix_ms
                                                         : event_time_ms(stored.event);
      // Events still unfinished are being delivered anyway.
      if (t < scan.since_ms || !spec.accepts(stored.event) || unfinished_.count(stored.seq) != 0) {
        continue;
      }
      fresh_.push_back(pending_event(stored, spec, false));
      live_->replay += 1;
      ++held_;
      log.set_state(stored.event.id, DeliveryState::pending);
    }
  }
  return budget;
}

BatchPtr DeliveryWindow::next_batch(std::size_t batch) {
  if (!ready_.empty()) {
    BatchPtr next = std::move(ready_.front());
    ready_.pop_front();
    return next;
  }
  if (fresh_.empty()) return nullptr;
  auto next = std::make_shared<OutgoingBatch>();
  std::size_t n = std::max<std::size_t>(batch, 1);
  next->events.reserve(std::min(n, fresh_.size()));
  while (n-- > 0 && !fresh_.empty()) {
    next->events.push_back(std::move(fresh_.front()));
    fresh_.pop_front();
  }
  return next;
}

void DeliveryWindow::retry_at(Clock::time_point due, BatchPtr batch) {
  waiting_.emplace(due, std::move(batch));
}

void DeliveryWindow::retry_first(BatchPtr batch) {
  ready_.push_front(std::move(batch));
}

void DeliveryWindow::release_due(Clock::time_point now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    ready_.push_back(std::move(waiting_.begin()->second));
    waiting_.erase(waiting_.begin());
  }
}

std::optional<DeliveryWindow::Clock::time_point> DeliveryWindow::next_retry() const {
  if (waiting_.empty()) return std::nullopt;
  return waiting_.begin()->first;
}

std::optional<DeliveryWindow::Clock::duration> DeliveryWindow::next_attempt_in(
    Clock::time_point now) const {
  if (!ready_.empty() || !fresh_.empty()) return Clock::duration::zero();
  if (waiting_.empty()) return std::nullopt;
  return std::max(waiting_.begin()->first - now, Clock::duration::zero());
}

void DeliveryWindow::finish(const OutgoingBatch& batch, bool dead_lettered) {
  for (const auto& e : batch.events) {
    if (e.seq != 0) {
      unfinished_.erase(e.seq);
    } else {
      live_->replay -= 1;
    }
    if (e.from_dead_letters || dead_lettered) replaying_.erase(e.event.id);
  }
  held_ -= batch.events.size();
}

bool DeliveryWindow::advance_cursor() {
  std::uint64_t c = unfinished_.empty() ? read_seq_ : *unfinished_.begin() - 1;
  if (c <= live_->cursor.load()) return false;
  live_->cursor = c;
  return true;
}

SinceScan DeliveryWindow::replay_since(std::uint64_t first_seq, std::int64_t since_ms) {
  SinceScan scan;
  scan.after = first_seq > 0 ? first_seq - 1 : 0;
  scan.end = read_seq_;
  scan.since_ms = since_ms;
  since_ = scan;
  return scan;
}

std::size_t DeliveryWindow::queue_replays(
    std::vector<PendingEvent> events, const std::function<bool(const std::string& id)>& is_dead) {
  std::size_t queued = 0;
  for (auto& e : events) {
    if (!is_dead(e.event.id) || replaying_.count(e.event.id) != 0) continue;
    replaying_.insert(e.event.id);
    replay_queue_.push_back(std::move(e));
    ++queued;
  }
  live_->replay += queued;
  return queued;
}

void DeliveryWindow::queue_manual(PendingEvent event) {
  event.seq = 0;
  event.manual = true;
  replay_queue_.push_back(std::move(event));
  live_->replay += 1;
}

}  // namespace hookd
