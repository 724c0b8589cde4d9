#include "hookd/hooks/spawn_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "hookd/hooks/containment.h"
#include "hookd/hooks/executor.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/idle_run_dirs.h"

namespace hookd {
namespace {

// Idle run directories kept; one per slot is enough, the rest are removed.
constexpr std::size_t kIdleRunDirs = 64;

}  // namespace

SpawnPool::SpawnPool(std::size_t threads, Executor& executor, std::filesystem::path work_dir,
                     HookEnvironment environment, std::shared_ptr<Containment> containment)
    : executor_(executor),
      containment_(std::move(containment)),
      work_dir_(std::move(work_dir)),
      environment_(std::move(environment)),
      idle_dirs_(containment_ ? std::make_unique<IdleRunDirs>(kIdleRunDirs) : nullptr),
      threads_(std::make_shared<boost::asio::thread_pool>(threads)) {}

SpawnPool::~SpawnPool() {
  close();
}

bool SpawnPool::submit(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  if (!open_) return false;
  boost::asio::post(*threads_, std::move(job));
  return true;
}

bool SpawnPool::start(std::shared_ptr<HookRun> run, std::function<void(ChildProcess)> started,
                      std::function<void(ProcessResult)> done) {
  return submit(
      [this, run = std::move(run), started = std::move(started), done = std::move(done)]() mutable {
        {
          std::lock_guard lock(mutex_);
          if (!open_) return;
        }
        if (abandoned_) {
          ProcessResult result;
          result.cancelled = true;
          return done(std::move(result));
        }
        if (auto prepared = prepare_run_dir(*run, work_dir_, environment_, idle_dirs_.get());
            !prepared) {
          ProcessResult failed;
          failed.spawn_error = prepared.error().message;
          return done(std::move(failed));
        }
        if (containment_) {
          auto cage = containment_->open_run(
              run->run_dir, run->process.argv.size() > 1 ? run->process.argv[1] : std::string());
          if (!cage) {
            ProcessResult failed;
            failed.spawn_error = cage.error().message;
            return done(std::move(failed));
          }
          run->process.setup = (*cage)->setup();
          done = after_cage(std::shared_ptr<RunCage>(std::move(*cage)), run, std::move(done));
        }
        started(executor_.start(*run, std::move(done)));
      });
}

std::function<void(ProcessResult)> SpawnPool::after_cage(std::shared_ptr<RunCage> cage,
                                                         std::shared_ptr<HookRun> run,
                                                         std::function<void(ProcessResult)> done) {
  return [this, cage = std::move(cage), run = std::move(run),
          done = std::move(done)](ProcessResult result) mutable {
    auto end = [this, cage = std::move(cage), run = std::move(run), done = std::move(done),
                result = std::move(result)]() mutable {
      auto report = cage->end();
      result.oom_killed = report.oom_killed;
      result.processes_killed = report.processes_killed;
      // Here rather than in another job after `done`: one hop less a run.
      if (!run->run_dir.empty()) {
        if (!report.all_gone || !idle_dirs_->give_back(run->run_dir)) hookd::remove_run_dir(*run);
        run->run_dir.clear();
      }
      done(std::move(result));
    };
    // A closed pool drops the job: then it runs here.
    auto job = std::make_shared<decltype(end)>(std::move(end));
    if (!submit([job] { (*job)(); })) (*job)();
  };
}

bool SpawnPool::remove_run_dir(std::shared_ptr<const HookRun> run, std::function<void()> removed) {
  bool queued = submit([run, removed = std::move(removed)] {
    hookd::remove_run_dir(*run);
    removed();
  });
  if (!queued) hookd::remove_run_dir(*run);
  return queued;
}

void SpawnPool::abandon_queued() {
  abandoned_ = true;
}

void SpawnPool::close() {
  std::shared_ptr<boost::asio::thread_pool> threads;
  {
    std::lock_guard lock(mutex_);
    open_ = false;
    threads = std::move(threads_);
  }
  if (threads) threads->join();
}

}  // namespace hookd
