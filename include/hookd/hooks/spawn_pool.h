// SpawnPool: the few threads that do the blocking parts of hook runs, off the
// reactor: making a run's directory and starting its child (posix_spawn holds
// the calling thread until the child has exec'd, which on a busy machine
// means until the scheduler gets round to the child), and removing the
// directory afterwards (mkdir and rmdir wait on the filesystem's journal).
// On the runner's reactor thread those waits held up every other hook's exit
// handling, and HTTP on that reactor, so slots sat idle while work was queued.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "hookd/hooks/hook_env.h"
#include "hookd/hooks/process.h"

namespace boost::asio {
class thread_pool;
}

namespace hookd {

class Containment;
class Executor;
class IdleRunDirs;
class RunCage;
struct HookRun;

class SpawnPool {
 public:
  // Run directories go under `work_dir`. `executor` must outlive close().
  // With `containment`, each run gets a RunCage before its child starts
  // (its setup in run.process.setup, whichever executor starts it), ended
  // on a pool thread once the executor reports the child gone.
  SpawnPool(std::size_t threads, Executor& executor, std::filesystem::path work_dir,
            HookEnvironment environment, std::shared_ptr<Containment> containment = nullptr);
  ~SpawnPool();  // close(); never from a pool thread
  SpawnPool(const SpawnPool&) = delete;
  SpawnPool& operator=(const SpawnPool&) = delete;

  // Queues the run: its directory (and cage), then executor.start().
  // `started` gets the child's handle on the pool thread. `done` gets the
  // result once: as Executor::start() says (after the cage's end, on a pool
  // thread, when contained), or on the pool thread without a child when no
  // directory or cage could be made or abandon_queued() came first. A run
  // still queued at close() is dropped, with neither. False once closed.
  bool start(std::shared_ptr<HookRun> run, std::function<void(ChildProcess)> started,
             std::function<void(ProcessResult)> done);

  // Queues the removal of the run's directory, then `removed` on a pool
  // thread. Once closed, removes it on the calling thread and returns false
  // (without `removed`).
  bool remove_run_dir(std::shared_ptr<const HookRun> run, std::function<void()> removed);

  // A contained run's directory is dealt with before its `done` too, on
  // the same pool thread as its cage's end: kept for a later run when the
  // cage saw every process of the run gone and the run left it clean
  // (IdleRunDirs), else removed; either way run.run_dir is then empty.

  // Runs still queued, and any queued later, are not started: each is done
  // at once, cancelled (a drain gave up waiting: they run again after a
  // restart).
  void abandon_queued();

  // Takes no more work; queued starts are dropped, queued removals done.
  // Joins the threads.
  void close();

 private:
  bool submit(std::function<void()> job);

  // Wraps `done` so the run's cage ends first, off the executor's reactor,
  // and then its directory goes to idle_dirs_ or away.
  std::function<void(ProcessResult)> after_cage(std::shared_ptr<RunCage> cage,
                                                std::shared_ptr<HookRun> run,
                                                std::function<void(ProcessResult)> done);

  Executor& executor_;
  const std::shared_ptr<Containment> containment_;
  const std::filesystem::path work_dir_;
  const HookEnvironment environment_;
  // Directories of contained runs that ended clean; null without containment.
  const std::unique_ptr<IdleRunDirs> idle_dirs_;
  std::atomic<bool> abandoned_{false};
  std::mutex mutex_;
  bool open_ = true;                                   // under mutex_
  std::shared_ptr<boost::asio::thread_pool> threads_;  // under mutex_
};

}  // namespace hookd
