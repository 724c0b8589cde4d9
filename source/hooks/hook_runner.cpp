#include "hookd/hooks/hook_runner.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/hooks/cpu_spread.h"
#include "hookd/hooks/executor.h"
#include "hookd/hooks/hook_finished.h"
#include "hookd/hooks/hook_result_store.h"
#include "hookd/hooks/hook_results.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/prewarm_executor.h"
#include "hookd/hooks/run_recorder.h"
#include "hookd/hooks/run_window.h"
#include "hookd/hooks/spawn_pool.h"
#include "hookd/journal/journal.h"
#include "hookd/runbooks/runbooks.h"

namespace hookd {
namespace {

namespace asio = boost::asio;

constexpr const char* kConsumer = HookRunner::kJournalConsumer;
constexpr std::size_t kJournalBatch = 512;

struct RunnerMetrics {
  Gauge& running = metrics().gauge("hookd_hook_running", "Hook scripts running now");
  Gauge& waiting =
      metrics().gauge("hookd_hook_waiting", "Events read from the journal, hook not started yet");
  Counter& snapshot_waits = metrics().counter(
      "hookd_hook_snapshot_waits_total", "Dispatch attempts delayed: no runbooks snapshot yet");
  Gauge& cursor = metrics().gauge("hookd_hook_cursor", "Journal seq the hooks consumer finished");
};

RunnerMetrics& runner_metrics() {
  static RunnerMetrics m;
  return m;
}

// Throws std::invalid_argument for what only start-up can get wrong.
HookRunnerOptions with_defaults(HookRunnerOptions options) {
  if (options.concurrency == 0) {
    options.concurrency = 2 * std::max(1u, std::thread::hardware_concurrency());
  }
  if (options.work_dir.empty()) {
    throw std::invalid_argument("hook runner: work_dir is required");
  }
  if (options.spawn_threads == 0) {
    options.spawn_threads = std::min<std::size_t>(options.concurrency, 4);
  }
  options.max_waiting = std::max<std::size_t>(1, options.max_waiting);
  return options;
}

HookEnvironment hook_environment(const HookRunnerOptions& options) {
  auto environment = HookEnvironment::parse(options.extra_env);
  if (!environment) throw std::invalid_argument(environment.error().message);
  return std::move(*environment);
}

// Where the consumer stands, as published for stats_json.
struct QueueState {
  std::size_t running = 0, waiting = 0, recording = 0;
  std::uint64_t cursor = 0, read_seq = 0;
};

std::string stats_json(const HookResults::Counts& counts, const QueueState& queue,
                       std::size_t concurrency) {
  boost::json::object runs;
  runs["ok"] = counts.ok;
  runs["failed"] = counts.failed;
  runs["timeout"] = counts.timeout;
  runs["oom"] = counts.oom;
  runs["spawn_error"] = counts.spawn_error;
  runs["interrupted"] = counts.interrupted;
  boost::json::object o;
  o["runs"] = std::move(runs);
  o["skipped"] = counts.skipped;
  o["skipped_hook_events"] = counts.skipped_hook_events;
  o["running"] = queue.running;
  o["recording"] = queue.recording;
  o["waiting"] = queue.waiting;
  o["cursor"] = queue.cursor;
  o["read_seq"] = queue.read_seq;
  o["concurrency"] = concurrency;
  o["output_dropped_bytes"] = counts.output_dropped_bytes;
  return boost::json::serialize(o);
}

}  // namespace

// Bookkeeping runs on the strand; what blocks (run directories, spawns) runs
// on the SpawnPool.
struct HookRunner::Impl : std::enable_shared_from_this<HookRunner::Impl> {
  using State = RunWindow::State;

  Impl(asio::io_context& io, Journal& journal,
       std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot, HookRunnerOptions o)
      : options(with_defaults(std::move(o))),
        strand(asio::make_strand(io)),
        journal(journal),
        snapshot_fn(std::move(snapshot)),
        snapshot_timer(strand),
        drain_timer(strand),
        executor(make_hook_executor(io, options, snapshot_fn, hook_environment(options),
                                    &executor_name)),
        pool(options.spawn_threads, *executor, options.work_dir, hook_environment(options),
             options.containment),
        results(options.max_results),
        recorder(io, journal, options.result_store, poster()),
        cpus(allowed_cpus()) {}

  // For the recorder: runs `work` on the strand (the strand outlives the
  // runner; what is posted checks that the runner is still there).
  std::function<void(std::function<void()>)> poster() {
    return [strand = strand](std::function<void()> work) { asio::post(strand, std::move(work)); };
  }

  void start(std::uint64_t registered_cursor) {
    if (auto ec = remove_stale_run_dirs(options.work_dir)) {
      log::error("hook work dir unusable",
                 {{"dir", options.work_dir.string()}, {"error", ec.message()}});
    }
    cursor = registered_cursor;
    read_seq = cursor;
    runner_metrics().cursor.set(static_cast<double>(cursor));
    std::weak_ptr<Impl> weak = shared_from_this();
    journal.on_durable([weak](std::uint64_t) {
      if (auto self = weak.lock()) self->schedule_pump();
    });
    recorder.start();
    log::info("hook runner started", {{"cursor", cursor},
                                      {"concurrency", options.concurrency},
                                      {"interpreter", options.interpreter},
                                      {"executor", executor_name}});
    pump();
  }

  // Many durable notifications collapse into one pump.
  void schedule_pump() {
    if (!alive || pump_pending.exchange(true)) return;
    asio::post(strand, [self = shared_from_this()] {
      self->pump_pending = false;
      self->pump();
    });
  }

  void pump() {
    if (stopping || !alive) return;
    read_more();
    dispatch();
    commit();
    publish();
  }

  void read_more() {
    while (window.size() < options.max_waiting) {
      std::size_t room = std::min(kJournalBatch, options.max_waiting - window.size());
      auto events = journal.read_for(kConsumer, read_seq, room);
      if (!events) {
        log::error("hook runner cannot read the journal",
                   {{"after_seq", read_seq}, {"error", events.error().message}});
        retry_later();
        return;
      }
      for (auto& stored : *events) {
        read_seq = stored.seq;
        window.push(stored.seq, std::move(stored.event));
      }
      if (events->size() < room) return;
    }
  }

  void dispatch() {
    std::shared_ptr<const RunbooksSnapshot> snapshot;
    while (running < options.concurrency && window.waiting() > 0) {
      if (!snapshot) snapshot = snapshot_fn ? snapshot_fn() : nullptr;
      if (!snapshot) {
        // Hooks are on but the runbooks are not loaded yet: skipping would
        // lose these runs, so wait for the first snapshot.
        runner_metrics().snapshot_waits.inc();
        retry_later();
        return;
      }
      RunWindow::Entry& entry = *window.next_waiting();
      if (is_hook_event(entry.event.type)) {
        entry.state = State::done;
        results.skipped_hook_event();
        continue;
      }
      if (ran_before(entry)) {
        entry.state = State::done;
        continue;
      }
      auto run = plan_hook_run(entry.seq, entry.event, *snapshot, options);
      if (!run) {
        entry.state = State::done;
        results.skipped();
        continue;
      }
      launch(entry, std::make_shared<HookRun>(std::move(*run)));
    }
  }

  // An arrival whose run was recorded before a restart (the cursor had not
  // passed it yet) is not run again; the recorder sends its hook.finished
  // if the journal does not have it yet.
  bool ran_before(const RunWindow::Entry& entry) const {
    return options.result_store &&
           options.result_store->finished_run(entry.event.id, entry.event.arrival_unix_ms);
  }

  std::function<void()> recorded_callback(std::uint64_t seq) {
    std::weak_ptr<Impl> weak = shared_from_this();
    return [weak, seq] {
      if (auto self = weak.lock(); self && self->alive) self->step_done(seq);
    };
  }

  void retry_later() {
    if (retry_armed) return;
    retry_armed = true;
    snapshot_timer.expires_after(options.snapshot_poll);
    snapshot_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->retry_armed = false;
      if (!ec) self->pump();
    });
  }

  void launch(RunWindow::Entry& entry, const std::shared_ptr<HookRun>& run) {
    entry.state = State::running;
    ++running;
    results.started(*run);
    run->cpu_slot = cpus.take();
    if (run->cpu_slot >= 0) run->process.cpu = cpus.cpu(run->cpu_slot);
    auto self = shared_from_this();
    pool.start(
        run,
        [self, seq = run->seq](ChildProcess child) {
          asio::post(self->strand, [self, seq, child] { self->spawned(seq, child); });
        },
        [self, run](ProcessResult result) {
          asio::post(self->strand, [self, run, r = std::move(result)]() mutable {
            self->finished(run, std::move(r));
          });
        });
  }

  // The handle, for stop() to cancel the run; the run may have finished already.
  void spawned(std::uint64_t seq, ChildProcess child) {
    RunWindow::Entry* entry = window.find(seq);
    if (entry == nullptr || entry->state != State::running) return;
    entry->child = child;
    if (drain_gave_up) child.cancel();
  }

  // Frees the slot at once; the cursor waits until the run directory is gone
  // and the result is durable (run_recorder.h).
  void finished(const std::shared_ptr<HookRun>& run, ProcessResult result) {
    --running;
    cpus.give_back(run->cpu_slot);
    if (!alive) {  // the runner was destroyed without stop()
      remove_run_dir(*run);
      return;
    }
    bool interrupted = result.cancelled && stopping;
    std::string status = results.finished(*run, result, interrupted);
    if (RunWindow::Entry* entry = window.find(run->seq)) {
      entry->child = ChildProcess();
      entry->state = State::cleaning;
    }
    // One step for this function itself, so no step can complete the entry early.
    Finishing& steps = finishing[run->seq];
    steps = Finishing{1, interrupted ? State::interrupted : State::done};
    if (!run->run_dir.empty()) {
      ++cleaning;
      ++steps.left;
      auto self = shared_from_this();
      bool queued = pool.remove_run_dir(run, [self, seq = run->seq] {
        asio::post(self->strand, [self, seq] { self->cleaned(seq); });
      });
      if (!queued) {
        --cleaning;
        --steps.left;
      }
    }
    if (!interrupted) {  // an interrupted run runs again: nothing to record
      ++steps.left;
      recorder.record(HookResultRecord{run->event_id, run->accepted_unix_ms, now_unix_ms(),
                                       run->type, run->sid, std::move(status)},
                      recorded_callback(run->seq));
    }
    step_done(run->seq);
  }

  void cleaned(std::uint64_t seq) {
    --cleaning;
    if (!alive) return;
    step_done(seq);
  }

  // One step after a run's end is over; the last one makes the entry done
  // (or interrupted).
  void step_done(std::uint64_t seq) {
    auto it = finishing.find(seq);
    if (it != finishing.end() && --it->second.left == 0) {
      RunWindow::Entry* entry = window.find(seq);
      if (entry != nullptr && entry->state == State::cleaning) entry->state = it->second.outcome;
      finishing.erase(it);
    }
    advance();
  }

  // After a run finished or its directory went: start what waits, move the
  // cursor, or complete a stop.
  void advance() {
    if (stopping) {
      commit();
      publish();
      if (drained()) finish_stop();
      return;
    }
    pump();
  }

  // Moves the cursor to the highest seq below which every event is done.
  void commit() {
    auto last = window.pop_done();
    if (!last || *last == cursor) return;
    cursor = *last;
    journal.commit(kConsumer, cursor);
    runner_metrics().cursor.set(static_cast<double>(cursor));
  }

  void publish() {
    runner_metrics().running.set(static_cast<double>(running));
    runner_metrics().waiting.set(static_cast<double>(window.waiting()));
    std::lock_guard lock(queue_mutex);
    queue = {running, window.waiting(), recorder.pending(), cursor, read_seq};
  }

  void stop(std::function<void()> done) {
    stopping = true;
    stop_done = std::move(done);
    snapshot_timer.cancel();
    publish();
    if (drained()) return finish_stop();
    log::info("hook runner draining", {{"running", running}});
    drain_timer.expires_after(options.drain_timeout);
    drain_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      // Runs still queued for the pool are not started at all.
      self->drain_gave_up = true;
      self->pool.abandon_queued();
      self->window.cancel_running();
      // Runs still being recorded (a journal refusing appends) are left
      // uncommitted: they run again after a restart.
      self->recorder.abandon();
      if (self->drained()) self->finish_stop();
    });
  }

  bool drained() const {
    return running == 0 && cleaning == 0 && (drain_gave_up || recorder.pending() == 0);
  }

  void finish_stop() {
    drain_timer.cancel();
    // What is owed stays in the result store, for the next start.
    recorder.abandon();
    if (!stop_done) return;
    auto done = std::move(stop_done);
    stop_done = nullptr;
    log::info("hook runner stopped", {{"cursor", cursor}});
    done();
  }

  const HookRunnerOptions options;
  asio::strand<asio::io_context::executor_type> strand;
  Journal& journal;
  std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot_fn;
  asio::steady_timer snapshot_timer;
  asio::steady_timer drain_timer;
  std::string executor_name;
  std::unique_ptr<Executor> executor;
  SpawnPool pool;
  HookResults results;

  // Strand-only state.
  RunRecorder recorder;
  RunWindow window;
  // Runs that ended and whose steps (run directory, recording) are not all over.
  struct Finishing {
    int left = 0;
    State outcome = State::done;
  };
  std::unordered_map<std::uint64_t, Finishing> finishing;
  CpuSpread cpus;
  std::size_t running = 0;   // slots taken: queued for the pool, or a child alive
  std::size_t cleaning = 0;  // run directories being removed
  std::uint64_t cursor = 0;
  std::uint64_t read_seq = 0;
  bool stopping = false;
  bool retry_armed = false;
  bool drain_gave_up = false;
  std::function<void()> stop_done;

  // Shared with other threads.
  std::atomic<bool> alive{
      true};  // cleared by ~HookRunner: the journal must not post to a dead runner
  std::atomic<bool> pump_pending{false};
  mutable std::mutex queue_mutex;
  QueueState queue;  // for stats_json, under queue_mutex
};

HookRunner::HookRunner(asio::io_context& io, Journal& journal,
                       std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot,
                       HookRunnerOptions options)
    : impl_(std::make_shared<Impl>(io, journal, std::move(snapshot), std::move(options))) {}

HookRunner::~HookRunner() {
  impl_->alive = false;
  // Queued spawns are dropped; queued directory removals still happen.
  // Joined here, never on a pool thread.
  impl_->pool.close();
}

void HookRunner::start() {
  // Registered before returning: a new consumer starts at the journal's end,
  // so every event appended after start() is seen.
  auto cursor = impl_->journal.register_consumer(kConsumer);
  asio::post(impl_->strand, [impl = impl_, cursor] { impl->start(cursor); });
}

void HookRunner::stop(std::function<void()> done) {
  asio::post(impl_->strand,
             [impl = impl_, done = std::move(done)]() mutable { impl->stop(std::move(done)); });
}

std::optional<std::string> HookRunner::status_json(std::string_view event_id) const {
  if (auto latest = impl_->results.status_json(event_id)) return latest;
  if (impl_->options.result_store) return impl_->options.result_store->status_json(event_id);
  return std::nullopt;
}

std::string HookRunner::stats_json() const {
  QueueState queue;
  {
    std::lock_guard lock(impl_->queue_mutex);
    queue = impl_->queue;
  }
  return hookd::stats_json(impl_->results.counts(), queue, impl_->options.concurrency);
}

}  // namespace hookd
