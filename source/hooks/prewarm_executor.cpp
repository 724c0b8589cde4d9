#include "hookd/hooks/prewarm_executor.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/hooks/containment.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/hook_runner.h"
#include "hookd/hooks/zygote.h"
#include "hookd/runbooks/runbooks.h"

namespace hookd {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr const char* kRssMetric = "hookd_hook_zygote_rss_bytes";
constexpr const char* kReadyMetric = "hookd_hook_zygote_ready";
// A zygote that was ready this long before it died starts the back-off over.
constexpr auto kHealthyLife = std::chrono::seconds(60);

struct PrewarmMetrics {
  Counter& runs =
      metrics().counter("hookd_hook_executor_runs_total",
                        "Hook runs by the executor that started them", {{"executor", "prewarm"}});
  Counter& starts = metrics().counter("hookd_hook_zygote_starts_total", "Prewarm zygotes started");
  Counter& failures = metrics().counter("hookd_hook_zygote_failures_total",
                                        "Prewarm zygotes that ended without being retired");
};

PrewarmMetrics& prewarm_metrics() {
  static PrewarmMetrics m;
  return m;
}

std::uint64_t rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// A hook's environment, as the zygote's own: no payload, and a HOME that does
// not exist (a run's HOME is its own directory; nothing the runs could write
// may be read by the zygote at start-up, such as a user site directory).
std::vector<std::string> zygote_environment(const HookEnvironment& environment) {
  auto env = environment.for_run("", "/nonexistent");
  std::erase_if(env,
                [](const std::string& e) { return e.starts_with("HOOP_RUNBOOK_HOOK_PAYLOAD="); });
  return env;
}

bool named_like_cpython(const std::string& interpreter) {
  return std::filesystem::path(interpreter).filename().string().starts_with("python");
}

// Zygotes are started on a thread of its own: posix_spawn would hold up a reactor.
struct PrewarmState : std::enable_shared_from_this<PrewarmState> {
  PrewarmState(asio::io_context& io, PrewarmOptions o, std::unique_ptr<Executor> f)
      : io(io), options(std::move(o)), fallback(std::move(f)) {}

  void start_lifecycle() {
    std::weak_ptr<PrewarmState> weak = shared_from_this();
    metrics().gauge_callback(kRssMetric, "Resident memory of the current prewarm zygote", {},
                             [weak]() -> double {
                               auto self = weak.lock();
                               int pid = self ? self->current_pid() : 0;
                               return pid > 0 ? static_cast<double>(rss_bytes(pid)) : 0.0;
                             });
    metrics().gauge_callback(kReadyMetric,
                             "1 while a prewarm zygote for the current commit is ready", {},
                             [weak]() -> double {
                               auto self = weak.lock();
                               return self && self->current_ready() ? 1.0 : 0.0;
                             });
    lifecycle = std::thread([this] { run_lifecycle(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (lifecycle.joinable()) lifecycle.join();
    metrics().remove_gauge_callback(kRssMetric, {});
    metrics().remove_gauge_callback(kReadyMetric, {});
    std::map<std::uint64_t, std::shared_ptr<Zygote>> left;
    std::vector<std::unique_ptr<RunCage>> left_cages;
    {
      std::lock_guard lock(mutex);
      left.swap(zygotes);
      left_cages.swap(ended_cages);
      for (auto& [id, cage] : cages)
        left_cages.push_back(std::move(cage));
      cages.clear();
      current = 0;
    }
    for (auto& [id, zygote] : left)
      zygote->kill();
    // Ends the zygotes for good, and whatever their runs left.
    for (auto& cage : left_cages)
      cage->end();
  }

  int current_pid() {
    std::lock_guard lock(mutex);
    auto it = zygotes.find(current);
    return it == zygotes.end() ? 0 : it->second->pid();
  }

  bool current_ready() {
    std::lock_guard lock(mutex);
    auto it = zygotes.find(current);
    return it != zygotes.end() && it->second->ready();
  }

  ChildProcess start(const HookRun& run, std::function<void(ProcessResult)> done) {
    std::shared_ptr<Zygote> zygote;
    {
      std::lock_guard lock(mutex);
      auto it = zygotes.find(current);
      if (it != zygotes.end() && it->second->commit() == run.commit) {
        zygote = it->second;
      } else if (!disabled) {
        wake.notify_one();  // a commit without a zygote yet
      }
    }
    const auto& argv = run.process.argv;
    if (zygote && argv.size() == 2 && argv[0] == options.interpreter && zygote->can_run(argv[1])) {
      auto fork = zygote->fork_run(run);
      if (fork.child) {
        prewarm_metrics().runs.inc();
        return watch_adopted_child(io, run.process, std::move(*fork.child),
                                   [done = std::move(done)](ProcessResult r) {
                                     r.executor = "prewarm";
                                     done(std::move(r));
                                   });
      }
      if (!fork.may_start_elsewhere) {
        // It may have run: starting it again could run it twice.
        ProcessResult failed;
        failed.spawn_error = "prewarm: " + fork.error;
        failed.executor = "prewarm";
        asio::post(io, [done = std::move(done), failed = std::move(failed)]() mutable {
          done(std::move(failed));
        });
        return ChildProcess();
      }
      log::debug("hook run falls back to spawn", {{"event_id", run.event_id}, {"why", fork.error}});
    }
    return fallback->start(run, std::move(done));
  }

  void run_lifecycle() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      end_cages(lock);
      refresh(lock);
      if (stopping) break;
      auto next = Clock::now() + options.snapshot_poll;
      if (restart_at > Clock::now() && restart_at < next) next = restart_at;
      wake.wait_until(lock, next);
    }
  }

  // The cages of zygotes that are gone: what is left in them is killed.
  void end_cages(std::unique_lock<std::mutex>& lock) {
    auto gone = std::move(ended_cages);
    ended_cages.clear();
    if (gone.empty()) return;
    lock.unlock();
    for (auto& cage : gone)
      cage->end();
    lock.lock();
  }

  // Starts a zygote for the current snapshot's commit if it has none.
  void refresh(std::unique_lock<std::mutex>& lock) {
    if (disabled || !options.snapshot || Clock::now() < restart_at) return;
    auto snapshot = options.snapshot();
    if (!snapshot) return;
    auto it = zygotes.find(current);
    if (it != zygotes.end()) {
      if (it->second->commit() == snapshot->commit_id) return;
      // A new commit: the old zygote ends when its last run does.
      it->second->retire();
      current = 0;
    }
    std::uint64_t id = ++last_id;
    lock.unlock();
    std::unique_ptr<RunCage> cage;
    std::shared_ptr<Zygote> zygote;
    if (auto caged = open_cage(*snapshot)) {
      cage = std::move(caged).value();
      zygote = start_zygote(id, *snapshot, cage ? cage->setup() : nullptr);
    } else {
      log::warn("hook zygote cannot be contained; runs use spawn",
                {{"commit", snapshot->commit_id}, {"error", caged.error().message}});
    }
    lock.lock();
    if (!zygote) {
      restart_at = Clock::now() + next_backoff(false, {});
      return;
    }
    if (cage) cages[id] = std::move(cage);
    if (stopping) return zygote->kill();
    zygotes[id] = std::move(zygote);
    current = id;
  }

  // Null without containment.
  Result<std::unique_ptr<RunCage>> open_cage(const RunbooksSnapshot& snapshot) {
    if (!options.containment) return std::unique_ptr<RunCage>();
    std::vector<std::filesystem::path> scripts;
    for (const auto& [name, path] : snapshot.scripts)
      scripts.push_back(path);
    return options.containment->open_zygote(scripts);
  }

  std::shared_ptr<Zygote> start_zygote(std::uint64_t id, const RunbooksSnapshot& snapshot,
                                       std::shared_ptr<const ChildSetup> setup) {
    // Its cwd; it reads nothing there (the bootstrap takes '' off sys.path).
    std::error_code ignored;
    std::filesystem::create_directories(options.work_dir, ignored);
    ZygoteOptions z;
    z.interpreter = options.interpreter;
    z.env = zygote_environment(options.environment);
    z.dir = options.work_dir;
    z.preload = options.preload;
    for (const auto& [name, path] : snapshot.scripts)
      z.scripts.push_back(path);
    z.commit = snapshot.commit_id;
    z.setup = std::move(setup);
    prewarm_metrics().starts.inc();
    std::weak_ptr<PrewarmState> weak = shared_from_this();
    return Zygote::start(io, std::move(z), [weak, id](const ZygoteEnd& end) {
      if (auto self = weak.lock()) self->ended(id, end);
    });
  }

  // On the io_context: a zygote is gone.
  void ended(std::uint64_t id, const ZygoteEnd& end) {
    std::shared_ptr<Zygote> gone;  // released after the lock
    {
      std::lock_guard lock(mutex);
      auto it = zygotes.find(id);
      if (it == zygotes.end()) return;
      gone = std::move(it->second);
      zygotes.erase(it);
      if (auto cage = cages.find(id); cage != cages.end()) {
        ended_cages.push_back(std::move(cage->second));
        cages.erase(cage);
      }
      if (id == current) current = 0;
      if (end.unsupported) {
        disabled = true;
        log::warn("prewarm executor off: hooks use spawn",
                  {{"interpreter", options.interpreter}, {"reason", end.reason}});
      } else if (!end.retired) {
        prewarm_metrics().failures.inc();
        auto delay = next_backoff(end.was_ready, end.lived);
        restart_at = Clock::now() + delay;
        log::warn("hook zygote ended; runs use spawn until it is back",
                  {{"commit", gone->commit()},
                   {"reason", end.reason},
                   {"restart_in_ms",
                    std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()}});
      }
    }
    wake.notify_all();
  }

  // Under the mutex.
  std::chrono::milliseconds next_backoff(bool was_ready, Clock::duration lived) {
    if (backoff.count() == 0 || (was_ready && lived >= kHealthyLife)) {
      backoff = options.restart_min;
    } else {
      backoff = std::min(backoff * 2, options.restart_max);
    }
    return backoff;
  }

  asio::io_context& io;
  const PrewarmOptions options;
  std::unique_ptr<Executor> fallback;
  std::thread lifecycle;

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  bool disabled = false;
  std::map<std::uint64_t, std::shared_ptr<Zygote>> zygotes;  // the current one, those retiring
  std::map<std::uint64_t, std::unique_ptr<RunCage>> cages;   // theirs, when contained
  std::vector<std::unique_ptr<RunCage>> ended_cages;         // for the lifecycle thread to end
  std::uint64_t current = 0, last_id = 0;
  Clock::time_point restart_at{};
  std::chrono::milliseconds backoff{0};
};

class PrewarmExecutor final : public Executor {
 public:
  PrewarmExecutor(asio::io_context& io, PrewarmOptions options, std::unique_ptr<Executor> fallback)
      : state_(std::make_shared<PrewarmState>(io, std::move(options), std::move(fallback))) {
    state_->start_lifecycle();
  }
  ~PrewarmExecutor() override { state_->stop(); }

  ChildProcess start(const HookRun& run, std::function<void(ProcessResult)> done) override {
    return state_->start(run, std::move(done));
  }

 private:
  std::shared_ptr<PrewarmState> state_;
};

}  // namespace

std::unique_ptr<Executor> make_prewarm_executor(asio::io_context& io, PrewarmOptions options,
                                                std::unique_ptr<Executor> fallback) {
  return std::make_unique<PrewarmExecutor>(io, std::move(options), std::move(fallback));
}

std::unique_ptr<Executor> make_hook_executor(
    asio::io_context& io, const HookRunnerOptions& options,
    std::function<std::shared_ptr<const RunbooksSnapshot>()> snapshot,
    const HookEnvironment& environment, std::string* name) {
  if (!options.executor.empty() && options.executor != "prewarm" && options.executor != "spawn") {
    throw std::invalid_argument("hook executor: expected prewarm or spawn, got \"" +
                                options.executor + "\"");
  }
  bool prewarm = options.executor == "prewarm" ||
                 (options.executor.empty() && named_like_cpython(options.interpreter));
  if (name) *name = prewarm ? "prewarm" : "spawn";
  auto spawn = make_spawn_executor(io);
  if (!prewarm) return spawn;
  PrewarmOptions p;
  p.interpreter = options.interpreter;
  p.preload = options.preload;
  p.environment = environment;
  p.work_dir = options.work_dir;
  p.snapshot = std::move(snapshot);
  p.containment = options.containment;
  return make_prewarm_executor(io, std::move(p), std::move(spawn));
}

}  // namespace hookd
