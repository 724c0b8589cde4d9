// RunbooksSource: the worker thread's loop (fetch, publish, wait for the TTL
// or the back-off), its stats and status. What a fetch does is in git_source,
// how it is cut short in fetch_control, fetch_watchdog and socket_stream.
#include "hookd/runbooks/runbooks.h"

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/runbooks/fetch_control.h"
#include "hookd/runbooks/fetch_watchdog.h"
#include "hookd/runbooks/git_source.h"
#include "hookd/runbooks/libgit2.h"
#include "hookd/runbooks/refresh_schedule.h"
#include "hookd/runbooks/remote_url.h"
#include "hookd/runbooks/runbooks_metrics.h"
#include "hookd/runbooks/snapshot.h"

namespace hookd {
namespace {

using Clock = std::chrono::steady_clock;

double age_seconds(const RunbooksSnapshot& snap) {
  return std::max<double>(0, (now_unix_ms() - snap.fetched_unix_ms) / 1000.0);
}

}  // namespace

// What the public calls and the worker thread share.
struct RunbooksSource::Impl {
  explicit Impl(RunbooksOptions o)
      : opt(std::move(o)),
        schedule(opt.ttl, opt.retry_min),
        fetch_timeout(std::max<std::chrono::seconds>(opt.fetch_timeout, std::chrono::seconds(1))),
        m(runbooks_metrics()) {}

  const RunbooksOptions opt;
  const RefreshSchedule schedule;
  const std::chrono::seconds fetch_timeout;
  RunbooksMetrics& m;

  std::atomic<std::shared_ptr<const RunbooksSnapshot>> current;

  mutable std::mutex mutex;
  std::condition_variable wake;  // worker: stop, refresh, next tick
  bool started = false;
  bool stopping = false;
  bool refresh = false;
  RunbooksStats stats;
  FetchControl control;
  std::optional<FetchWatchdog> watchdog;  // from start() to stop()
  std::thread worker;

  void run_worker();
  void attempt(GitSource& git);
  bool arm();
  void disarm();
  void publish(std::shared_ptr<const RunbooksSnapshot> snap);
  void count_success();
  void count_failure(const FetchFailure& failure, std::int64_t duration_ms);
};

bool RunbooksSource::Impl::arm() {
  std::lock_guard lock(mutex);
  // Under the lock that stop() sets `stopping` with: its cancel cannot fall
  // between this check and the reset.
  if (stopping) return false;
  FetchDeadline deadline(Clock::now(), fetch_timeout);
  control.reset(deadline, "fetch timed out after " + std::to_string(fetch_timeout.count()) +
                              " s (--git-fetch-timeout)");
  watchdog->arm(deadline);
  stats.fetching = true;
  return true;
}

void RunbooksSource::Impl::disarm() {
  std::lock_guard lock(mutex);
  watchdog->disarm();
  stats.fetching = false;
}

void RunbooksSource::Impl::publish(std::shared_ptr<const RunbooksSnapshot> snap) {
  m.scripts.set(static_cast<double>(snap->scripts.size()));
  current.store(std::move(snap));
}

void RunbooksSource::Impl::attempt(GitSource& git) {
  if (!arm()) return;
  auto started_at = Clock::now();
  FetchFailure failure;
  auto ref = git.download(failure);
  // The download is what may hang; writing the snapshot out is not cut short.
  disarm();
  auto result = ref ? git.snapshot_of(*ref, failure)
                    : Result<std::shared_ptr<const RunbooksSnapshot>>(ref.error());
  double seconds = std::chrono::duration<double>(Clock::now() - started_at).count();
  m.duration.observe(seconds);
  auto duration_ms = static_cast<std::int64_t>(seconds * 1000);

  if (result) {
    auto previous = current.load();
    const auto& snap = *result;
    bool changed =
        !previous || previous->commit_id != snap->commit_id || previous->scripts != snap->scripts;
    publish(snap);
    count_success();
    if (changed) {
      log::info("runbooks snapshot published",
                {{"commit", snap->commit_id},
                 {"previous_commit", previous ? previous->commit_id : std::string()},
                 {"ref", snap->ref},
                 {"scripts", snap->scripts.size()},
                 {"duration_ms", duration_ms}});
    } else {
      log::debug("runbooks fetch: no change",
                 {{"commit", snap->commit_id}, {"duration_ms", duration_ms}});
    }
    return;
  }
  if (failure.local) git.drop_clone();
  count_failure(failure, duration_ms);
}

void RunbooksSource::Impl::count_success() {
  m.fetches_ok.inc();
  std::lock_guard lock(mutex);
  ++stats.fetches_ok;
  stats.consecutive_failures = 0;
  stats.last_error.clear();
}

void RunbooksSource::Impl::count_failure(const FetchFailure& failure, std::int64_t duration_ms) {
  bool shutting_down;
  {
    std::lock_guard lock(mutex);
    shutting_down = stopping;
  }
  if (failure.cancelled && shutting_down) {
    // A shutdown is not the remote's failure.
    log::info("runbooks fetch cancelled: stopping", {{"duration_ms", duration_ms}});
    return;
  }
  // The metrics first: whoever sees the stats change finds them counted.
  m.fetches_failed.inc();
  if (failure.timed_out) m.timeouts.inc();
  std::uint64_t consecutive;
  {
    std::lock_guard lock(mutex);
    ++stats.fetches_failed;
    consecutive = ++stats.consecutive_failures;
    stats.last_error = failure.message;
  }
  auto snap = current.load();
  log::warn("runbooks fetch failed; keeping the last good snapshot",
            {{"error", failure.message},
             {"class", failure.klass},
             {"url", redact_remote_url(opt.url)},
             {"consecutive_failures", consecutive},
             {"serving_commit", snap ? snap->commit_id : std::string()},
             {"duration_ms", duration_ms}});
}

void RunbooksSource::Impl::run_worker() {
  LibGit2 libgit2;
  if (!libgit2.ok()) {
    log::error("runbooks: libgit2 failed to initialise", {{"error", last_git_message()}});
    std::lock_guard lock(mutex);
    stats.last_error = "libgit2 failed to initialise";
    return;
  }
  ScriptStore scripts(opt.dir / "scripts");
  scripts.remove_leftovers();
  GitSource git(opt, scripts, control);  // freed before libgit2 shuts down
  // The snapshot of the last good fetch serves from start-up until the first
  // fetch of this run succeeds (the remote may be down now).
  if (auto kept = git.kept_snapshot()) {
    log::info("runbooks: serving the snapshot kept in the local clone until the first fetch",
              {{"commit", kept->commit_id}, {"scripts", kept->scripts.size()}});
    publish(std::move(kept));
  }

  auto next = Clock::now();
  for (;;) {
    {
      std::unique_lock lock(mutex);
      wake.wait_until(lock, next, [&] { return stopping || refresh; });
      if (stopping) break;
      refresh = false;
    }
    attempt(git);
    std::uint64_t failures;
    {
      std::lock_guard lock(mutex);
      failures = stats.consecutive_failures;
    }
    next = Clock::now() + schedule.next_fetch_in(failures);
  }
}

// ---------------------------------------------------------------------------

RunbooksSource::RunbooksSource(RunbooksOptions options) {
  if (options.url.empty()) throw std::invalid_argument("runbooks: the git URL is empty");
  if (options.dir.empty()) throw std::invalid_argument("runbooks: the data directory is empty");
  if (!options.password.empty() && !take_credentials_from_url(options.url).password.empty()) {
    log::warn(
        "runbooks: --git-url carries a password and --git-password [GIT_PASSWORD] is set too; "
        "--git-password is used");
  }
  // From here on the URL holds no secret: libgit2 gets the credentials through
  // its callback, so the clone's config never stores them.
  impl_ = std::make_shared<Impl>(credentials_out_of_url(std::move(options)));
  std::weak_ptr<Impl> weak = impl_;
  metrics().gauge_callback(
      "hookd_runbooks_snapshot_age_seconds",
      "Seconds since the serving runbooks snapshot was last confirmed by a fetch", {}, [weak] {
        auto impl = weak.lock();
        auto snap = impl ? impl->current.load() : nullptr;
        if (!snap) return std::numeric_limits<double>::quiet_NaN();
        return age_seconds(*snap);
      });
}

RunbooksSource::~RunbooksSource() {
  stop();
}

void RunbooksSource::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->watchdog.emplace(impl_->control);
  impl_->worker = std::thread([impl = impl_.get()] { impl->run_worker(); });
}

void RunbooksSource::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->wake.notify_all();
  }
  impl_->control.cancel("stopping");
  if (impl_->worker.joinable()) impl_->worker.join();
  impl_->watchdog.reset();
}

std::shared_ptr<const RunbooksSnapshot> RunbooksSource::snapshot() const {
  return impl_->current.load();
}

bool RunbooksSource::refresh_now() {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->started || impl_->stopping) return false;
  impl_->refresh = true;
  impl_->wake.notify_all();
  return true;
}

RunbooksStats RunbooksSource::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

std::string RunbooksSource::status_json() const {
  auto snap = snapshot();
  RunbooksStats s = stats();
  boost::json::object o;
  if (snap) {
    o["commit"] = snap->commit_id;
    o["ref"] = snap->ref;
    o["age_seconds"] = age_seconds(*snap);
    o["scripts"] = snap->scripts.size();
  } else {
    o["commit"] = nullptr;
    o["ref"] = nullptr;
    o["age_seconds"] = nullptr;
    o["scripts"] = 0;
  }
  if (s.last_error.empty()) {
    o["last_error"] = nullptr;
  } else {
    o["last_error"] = s.last_error;
  }
  o["fetches_ok"] = s.fetches_ok;
  o["fetches_failed"] = s.fetches_failed;
  o["fetching"] = s.fetching;
  return boost::json::serialize(o);
}

}  // namespace hookd
