#include "hookd/delivery/endpoint_worker.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <random>

#include "hookd/core/log.h"
#include "hookd/delivery/blocking_io_thread.h"
#include "hookd/delivery/cursor_committer.h"
#include "hookd/delivery/dead_letters.h"
#include "hookd/delivery/delivery_window.h"
#include "hookd/delivery/endpoint_sender.h"
#include "hookd/delivery/endpoint_state.h"
#include "hookd/delivery/endpoint_stats.h"
#include "hookd/delivery/event_status_log.h"
#include "hookd/delivery/svix_endpoint.h"
#include "hookd/journal/journal.h"
#include "hookd/journal/shared_dead_letters.h"

namespace hookd {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

PendingEvent replay_of(DeadLetter letter) {
  PendingEvent e;  // seq 0: the cursor passed it when it was given up
  e.event = RenderedEvent{std::move(letter.id), std::move(letter.type),
                          std::move(letter.event_json), letter.time_ms};
  e.arrival_ms = letter.arrival_unix_ms;
  e.from_dead_letters = true;
  return e;
}

std::vector<std::string> ids_of(const OutgoingBatch& batch) {
  std::vector<std::string> ids;
  ids.reserve(batch.events.size());
  for (const auto& e : batch.events)
    ids.push_back(e.event.id);
  return ids;
}

class Worker final : public EndpointWorker, public std::enable_shared_from_this<Worker> {
 public:
  Worker(const EndpointWorkerContext& context, EndpointSpec spec)
      : context_(context),
        io_(*context.io),
        journal_(*context.journal),
        spec_(std::move(spec)),
        consumer_(context.consumer_prefix + spec_.name),
        log_(context.status_events, context.max_attempts_shown),
        window_(context.window),
        dead_letters_(std::make_shared<DeadLetterStore>(
            io_, context.files, context.dir / (spec_.name + ".dead-letters.jsonl"), spec_.name)),
        state_(context.files, context.dir / (spec_.name + ".state.json"), spec_.name),
        cursor_(io_, journal_, consumer_, [this] { return window_.cursor(); }),
        retry_timer_(io_) {
    rng_.seed(std::random_device{}());
  }

  const EndpointSpec& spec() const override { return spec_; }
  Status start() override;
  void wake() override { pump(); }
  void stop(std::function<void()> done) override;
  void enable() override;
  void reopen() override;
  SinceReplay replay_since(std::int64_t since_ms) override;
  void replay_dead_letters(ReplayDone done) override;
  void send_manual(const StoredEvent& stored) override;
  void recover_dead_letters(std::int64_t since_ms, std::optional<std::int64_t> until_ms,
                            ReplayDone done) override;
  EndpointSummary summary(std::uint64_t journal_last_seq) const override;
  std::string status_json(const StoredEvent& stored) const override;

 private:
  void pump();
  void dispatch();
  void on_answer(const BatchPtr& batch, EndpointSender::Answer answer);
  void on_failure(const BatchPtr& batch, const AttemptOutcome& outcome);
  void on_delivered(const OutgoingBatch& batch);
  void dead_letter(const BatchPtr& batch);
  // `listed`: the list's size when written (a shared list counts itself).
  void on_dead_lettered(const BatchPtr& batch, const Status& written,
                        std::optional<std::size_t> listed);
  void write_shared_dead_letters(const BatchPtr& batch, std::vector<SharedDeadLetters::Line> lines);
  void replay_shared_dead_letters(std::optional<std::int64_t> since_ms,
                                  std::optional<std::int64_t> until_ms, ReplayDone done);
  void arm_retry_timer();
  void on_retry_timer();
  void report_attempts(const OutgoingBatch& batch, const EndpointSender::Answer& answer,
                       const AttemptOutcome& outcome);
  void queue_dead_letters(std::function<bool(const DeadLetter&)> wanted, bool manual,
                          ReplayDone done);
  void set_disabled(bool disabled, std::string reason);
  void advance_cursor() {
    if (window_.advance_cursor()) cursor_.schedule();
  }

  const EndpointWorkerContext context_;
  boost::asio::io_context& io_;
  Journal& journal_;
  const EndpointSpec spec_;
  const std::string consumer_;  // "<prefix><name>"
  EventStatusLog log_;
  DeliveryWindow window_;
  std::shared_ptr<DeadLetterStore> dead_letters_;
  EndpointStateFile state_;
  std::shared_ptr<EndpointSender> sender_;
  EndpointStats stats_;
  CursorCommitter cursor_;
  std::mt19937_64 rng_;
  boost::asio::steady_timer retry_timer_;
  Clock::time_point retry_timer_due_ = Clock::time_point::max();
  bool more_posted_ = false;
  bool started_ = false;
  bool stopping_ = false;
};

// ---- start and stop ----

Status Worker::start() {
  TransportContext transport{&io_, context_.files, context_.user_agent, context_.host};
  auto sender = EndpointSender::create(spec_, transport);
  if (!sender) {
    return make_error("endpoint " + boost::json::serialize(boost::json::string(spec_.name)) + ": " +
                      sender.error().message);
  }
  sender_ = std::move(sender.value());
  state_.load();
  state_.share_through(context_.shared_tally, consumer_);
  const bool shared_dead_letters = context_.shared_dead_letters != nullptr;
  if (!shared_dead_letters) {
    if (Status st = dead_letters_->load(); !st) return st;
  }
  std::uint64_t cursor = journal_.register_consumer(consumer_);
  window_.start_at(cursor, consumer_);
  cursor_.committed_at(cursor);
  stats_.share_through(context_.shared_tally, consumer_, !shared_dead_letters);
  stats_.register_metrics(spec_.name, window_.live(), context_.last_seq);
  stats_.set_dead_letters(dead_letters_->size());
  stats_.set_disabled(state_.disabled());
  log::info("delivery endpoint", {{"endpoint", spec_.name},
                                  {"url", redact_url(spec_.url)},
                                  {"format", format_name(spec_.format)},
                                  {"cursor", cursor},
                                  {"disabled", state_.disabled()}});
  started_ = true;
  return Ok{};
}

void Worker::stop(std::function<void()> done) {
  if (stopping_ || !started_) {
    stopping_ = true;
    done();
    return;
  }
  stopping_ = true;
  retry_timer_.cancel();
  cursor_.stop();
  sender_->close();
  cursor_.commit_now();
  // Dead letters already handed to the file thread finish first; their
  // cursor moves are then committed before `done`.
  std::weak_ptr<Worker> weak = weak_from_this();
  boost::asio::io_context* io = &io_;
  context_.files->post([weak, io, done = std::move(done)]() mutable {
    boost::asio::post(*io, [weak, done = std::move(done)] {
      if (auto self = weak.lock()) self->cursor_.commit_now();
      done();
    });
  });
}

void Worker::reopen() {
  if (sender_ && !stopping_) sender_->reopen();
}

void Worker::enable() {
  set_disabled(false, "");
  pump();
}

void Worker::set_disabled(bool disabled, std::string reason) {
  if (state_.set_disabled(disabled, std::move(reason), now_unix_ms())) {
    stats_.set_disabled(disabled);
  }
}

// ---- the loop: fill the window, send, settle each answer ----

void Worker::pump() {
  if (stopping_ || !started_) return;
  if (state_.refresh()) stats_.set_disabled(state_.disabled());
  DeliveryWindow::FillResult filled = window_.fill(journal_, spec_, log_);
  if (filled.read_error) {
    log::error("delivery: journal read failed",
               {{"endpoint", spec_.name}, {"error", *filled.read_error}});
  }
  dispatch();
  arm_retry_timer();  // the fill may have brought retries handed over by another node
  advance_cursor();
  stats_.set_window(window_.held());
  if (filled.more && !more_posted_) {
    // Many filtered events in a row: yield to other work, then go on.
    more_posted_ = true;
    std::weak_ptr<Worker> weak = weak_from_this();
    boost::asio::post(io_, [weak] {
      if (auto self = weak.lock()) {
        self->more_posted_ = false;
        self->pump();
      }
    });
  }
}

void Worker::dispatch() {
  if (state_.disabled() || spec_.paused() || stopping_ || !sender_) return;
  const std::size_t per_request = spec_.format == EndpointFormat::webhook ? 1 : spec_.batch;
  std::weak_ptr<Worker> weak = weak_from_this();
  while (sender_->has_room()) {
    BatchPtr batch = window_.next_batch(per_request);
    if (!batch) break;
    sender_->send(std::move(batch), [weak](const BatchPtr& b, EndpointSender::Answer answer) {
      if (auto self = weak.lock()) self->on_answer(b, std::move(answer));
    });
  }
  stats_.set_in_flight(sender_->in_flight_events());
}

void Worker::on_answer(const BatchPtr& batch, EndpointSender::Answer answer) {
  stats_.set_in_flight(sender_->in_flight_events());
  const AttemptOutcome& outcome = answer.outcome;
  if (stopping_) {
    // A file append that finished during the drain is on disk: let the
    // cursor pass it. Anything else is abandoned: the cursor has not passed
    // these events, so the next start sends them again.
    if (outcome.accepted) on_delivered(*batch);
    return;
  }
  for (const auto& e : batch->events) {
    log_.add_attempt(e.event.id, AttemptRecord{answer.started_ms, outcome.status, outcome.error,
                                               answer.duration_ms});
  }
  if (context_.on_attempt) report_attempts(*batch, answer, outcome);
  stats_.attempted(outcome, batch->events[0].event.id);
  if (outcome.success()) {
    on_delivered(*batch);
  } else {
    on_failure(batch, outcome);
  }
  pump();
}

void Worker::on_failure(const BatchPtr& batch, const AttemptOutcome& outcome) {
  if (outcome.gone()) {
    // Not counted against the schedule: the events wait for /enable.
    set_disabled(true, "410 Gone from the endpoint");
    window_.retry_first(batch);
    return;
  }
  if (batch->events.front().manual) {
    // As in Svix, a manual attempt is not retried: a dead letter stays one.
    window_.finish(*batch, false);
    return;
  }
  ++batch->failures;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto wait =
      context_.retry.next_attempt(batch->failures, outcome, now_unix_ms() / 1000, uniform(rng_));
  if (!wait) return dead_letter(batch);
  window_.retry_at(Clock::now() + *wait, batch);
  const std::int64_t due_ms = now_unix_ms() + wait->count();
  for (const auto& e : batch->events) {
    if (e.seq != 0) journal_.retry_scheduled(consumer_, e.seq, batch->failures, due_ms);
  }
  arm_retry_timer();
}

void Worker::on_delivered(const OutgoingBatch& batch) {
  stats_.delivered(batch, now_unix_ms());
  for (const auto& e : batch.events)
    log_.set_state(e.event.id, DeliveryState::delivered);
  window_.finish(batch, false);
  // A delivered event leaves the dead-letter list, however it was re-sent.
  if (!context_.shared_dead_letters) {
    if (auto left = dead_letters_->remove(ids_of(batch))) stats_.set_dead_letters(*left);
  } else if (batch.events.front().manual) {
    // A replay left the list when it was re-queued; a resend by hand did not.
    context_.shared_dead_letters->remove(consumer_, ids_of(batch));
  }
  advance_cursor();
}

void Worker::dead_letter(const BatchPtr& batch) {
  const std::string& reason = stats_.last_error();
  const std::string dead_at = format_rfc3339(now_unix_ms());
  std::string lines;
  std::vector<SharedDeadLetters::Line> shared_lines;
  for (const auto& e : batch->events) {
    if (e.from_dead_letters) continue;  // its line is still in the file
    std::string line =
        dead_letter_line(DeadLetter{e.event.id, e.event.type, e.seq, e.arrival_ms, e.event.time_ms,
                                    dead_at, batch->failures, reason, e.event.json});
    if (context_.shared_dead_letters) {
      shared_lines.push_back(SharedDeadLetters::Line{e.event.id, std::move(line)});
    } else {
      lines += line;
    }
  }
  log::warn("delivery: attempts exhausted, dead-lettered", {{"endpoint", spec_.name},
                                                            {"events", batch->events.size()},
                                                            {"event", batch->events[0].event.id},
                                                            {"attempts", batch->failures},
                                                            {"error", reason}});
  if (context_.shared_dead_letters)
    return write_shared_dead_letters(batch, std::move(shared_lines));
  std::weak_ptr<Worker> weak = weak_from_this();
  dead_letters_->append(std::move(lines), [weak, batch](Status written) {
    if (auto self = weak.lock()) self->on_dead_lettered(batch, written, std::nullopt);
  });
}

void Worker::write_shared_dead_letters(const BatchPtr& batch,
                                       std::vector<SharedDeadLetters::Line> lines) {
  std::weak_ptr<Worker> weak = weak_from_this();
  boost::asio::io_context* io = &io_;
  context_.shared_dead_letters->add(
      consumer_, std::move(lines), [weak, io, batch](Result<std::size_t> listed) {
        boost::asio::post(*io, [weak, batch, listed = std::move(listed)] {
          auto self = weak.lock();
          if (!self) return;
          if (!listed) return self->on_dead_lettered(batch, listed.error(), std::nullopt);
          self->on_dead_lettered(batch, Ok{}, *listed);
        });
      });
}

// Runs once the dead letters are durable (on disk, or in Redis): only now
// may the cursor pass them.
void Worker::on_dead_lettered(const BatchPtr& batch, const Status& written,
                              std::optional<std::size_t> listed) {
  if (!written) {
    log::error("delivery: dead-letter write failed; will retry",
               {{"endpoint", spec_.name}, {"error", written.error().message}});
    if (stopping_) return;
    window_.retry_at(Clock::now() + context_.retry.dead_letter_write_retry(), batch);
    arm_retry_timer();
    return;
  }
  stats_.set_dead_letters(listed ? *listed : dead_letters_->add(ids_of(*batch)));
  for (const auto& e : batch->events)
    log_.set_state(e.event.id, DeliveryState::dead_letter);
  window_.finish(*batch, true);
  advance_cursor();
  pump();
}

void Worker::report_attempts(const OutgoingBatch& batch, const EndpointSender::Answer& answer,
                             const AttemptOutcome& outcome) {
  const std::string app_id = spec_.svix ? spec_.svix->get()->app_id : std::string();
  for (const auto& e : batch.events) {
    context_.on_attempt(AttemptReport{spec_.name, e.event.id, app_id, spec_.url, outcome.status,
                                      outcome.success(), outcome.response, answer.started_ms,
                                      answer.duration_ms, e.manual});
  }
}

// ---- retries ----

void Worker::arm_retry_timer() {
  auto due = window_.next_retry();
  if (!due || stopping_ || *due >= retry_timer_due_) return;
  retry_timer_due_ = *due;
  retry_timer_.expires_at(*due);
  std::weak_ptr<Worker> weak = weak_from_this();
  retry_timer_.async_wait([weak](boost::system::error_code ec) {
    if (ec) return;  // re-armed for an earlier retry, or stopping
    if (auto self = weak.lock()) self->on_retry_timer();
  });
}

void Worker::on_retry_timer() {
  retry_timer_due_ = Clock::time_point::max();
  if (stopping_) return;
  window_.release_due(Clock::now());
  arm_retry_timer();
  pump();
}

// ---- replays and status ----

SinceReplay Worker::replay_since(std::int64_t since_ms) {
  SinceScan scan = window_.replay_since(journal_.stats().first_seq, since_ms);
  log::info("delivery: replay since",
            {{"endpoint", spec_.name}, {"since", format_rfc3339(since_ms)}});
  return SinceReplay{scan.after + 1, scan.end};
}

void Worker::replay_dead_letters(ReplayDone done) {
  if (context_.shared_dead_letters) {
    return replay_shared_dead_letters(std::nullopt, std::nullopt, std::move(done));
  }
  queue_dead_letters([](const DeadLetter&) { return true; }, false, std::move(done));
}

void Worker::recover_dead_letters(std::int64_t since_ms, std::optional<std::int64_t> until_ms,
                                  ReplayDone done) {
  if (context_.shared_dead_letters) {
    return replay_shared_dead_letters(since_ms, until_ms, std::move(done));
  }
  auto wanted = [since_ms, until_ms](const DeadLetter& letter) {
    return letter.arrival_unix_ms >= since_ms && (!until_ms || letter.arrival_unix_ms <= *until_ms);
  };
  queue_dead_letters(wanted, true, std::move(done));
}

// Whichever node's worker the group hands them to sends them; the answer
// comes once Redis has re-queued them.
void Worker::replay_shared_dead_letters(std::optional<std::int64_t> since_ms,
                                        std::optional<std::int64_t> until_ms, ReplayDone done) {
  boost::asio::io_context* io = &io_;
  std::string endpoint = spec_.name;
  context_.shared_dead_letters->replay(
      consumer_, since_ms, until_ms,
      [io, endpoint, done = std::move(done)](Result<std::size_t> queued) mutable {
        boost::asio::post(*io, [endpoint, queued = std::move(queued), done = std::move(done)] {
          if (queued) {
            log::info("delivery: dead letters re-queued for every node",
                      {{"endpoint", endpoint}, {"events", *queued}});
          }
          done(std::move(queued));
        });
      });
}

void Worker::send_manual(const StoredEvent& stored) {
  if (stopping_ || !started_) return;
  PendingEvent e;
  e.event = render_event_for(spec_, stored.event);
  e.arrival_ms = stored.event.arrival_unix_ms;
  window_.queue_manual(std::move(e));
  log_.set_state(stored.event.id, DeliveryState::pending);
  pump();
}

void Worker::queue_dead_letters(std::function<bool(const DeadLetter&)> wanted, bool manual,
                                ReplayDone done) {
  std::weak_ptr<Worker> weak = weak_from_this();
  dead_letters_->read([weak, wanted = std::move(wanted), manual,
                       done = std::move(done)](std::vector<DeadLetter> live) {
    auto self = weak.lock();
    if (!self) return done(make_error("delivery is stopping"));
    std::vector<PendingEvent> events;
    events.reserve(live.size());
    for (auto& letter : live) {
      if (!wanted(letter)) continue;
      events.push_back(replay_of(std::move(letter)));
      events.back().manual = manual;
    }
    const DeadLetterStore& store = *self->dead_letters_;
    std::size_t queued = self->window_.queue_replays(
        std::move(events), [&store](const std::string& id) { return store.contains(id); });
    log::info("delivery: replaying dead letters",
              {{"endpoint", self->spec_.name}, {"events", queued}});
    self->pump();
    done(queued);
  });
}

EndpointSummary Worker::summary(std::uint64_t journal_last_seq) const {
  EndpointSummary s;
  s.name = spec_.name;
  s.url = redact_url(spec_.url);
  s.format = spec_.format;
  s.events = spec_.events;
  s.disabled = state_.disabled();
  s.disabled_reason = state_.state().reason;
  s.disabled_at = state_.state().at;
  s.cursor = window_.cursor();
  s.backlog = (journal_last_seq > s.cursor ? journal_last_seq - s.cursor : 0) +
              window_.live()->replay.load();
  s.in_flight = sender_ ? sender_->in_flight_events() : 0;
  s.dead_letters = dead_letters_->size();
  s.last_error = stats_.last_error();
  s.last_status = stats_.last_status();
  // Disabled: nothing until /enable. Work ready but no free connection: now.
  auto in = s.disabled ? std::nullopt : window_.next_attempt_in(Clock::now());
  if (in) s.next_attempt_unix_ms = now_unix_ms() + std::chrono::floor<milliseconds>(*in).count();
  s.delivered_total = stats_.delivered_total();
  s.failed_total = stats_.failed_total();
  if (auto shared = stats_.shared_totals()) {
    s.delivered_total = shared->delivered_total;
    s.failed_total = shared->failed_total;
    s.dead_letters = shared->dead_letters;
    s.last_error = shared->last_error;
    s.last_status = shared->last_status;
  }
  return s;
}

std::string Worker::status_json(const StoredEvent& stored) const {
  // Older than the events the log keeps: what the filter and cursor say.
  const std::string& id = stored.event.id;
  DeliveryState otherwise = DeliveryState::pending;
  if (!spec_.accepts(stored.event)) {
    otherwise = DeliveryState::filtered;
  } else if (dead_letters_->contains(id)) {
    otherwise = DeliveryState::dead_letter;
  } else if (stored.seq <= window_.cursor()) {
    otherwise = DeliveryState::delivered;
  }
  return log_.status_json(id, otherwise);
}

}  // namespace

std::shared_ptr<EndpointWorker> EndpointWorker::create(const EndpointWorkerContext& context,
                                                       EndpointSpec spec) {
  return std::make_shared<Worker>(context, std::move(spec));
}

}  // namespace hookd
