// Executor: how the child of a hook run is started. This is the seam for
// more than one way to run a hook script: spawn (posix_spawn of the
// interpreter per run, through run_process) and prewarm (a fork of a warm
// interpreter, prewarm_executor.h).
//
// Whatever starts it, a run's child must look the same to the script: the
// argv, environment (exactly run.process.env), cwd, stdin on /dev/null,
// stdout+stderr captured under the same cap, its own process group, and the
// same timeout, kill_grace and linger (KillSequence) around it. When
// run.process.setup is set (hooks/containment.h), the child applies that
// ChildSetup before the script runs, as hooks/child_setup.h describes; the
// SpawnPool opens and ends the run's RunCage around any executor.
//
// Implementations are thread-safe: start() is called on SpawnPool threads.
#pragma once

#include <functional>
#include <memory>

#include "hookd/hooks/process.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

struct HookRun;

class Executor {
 public:
  virtual ~Executor() = default;

  // Starts the child for `run`, prepared by prepare_run_dir(). May block
  // until the child runs. `done` runs exactly once, on the executor's
  // io_context and never inline, once the child and its process group are
  // gone (a failure to start is a ProcessResult::spawn_error). The handle
  // lets the runner cancel the run.
  virtual ChildProcess start(const HookRun& run, std::function<void(ProcessResult)> done) = 0;
};

// The spawn executor: run_process(run.process) on `io`.
std::unique_ptr<Executor> make_spawn_executor(boost::asio::io_context& io);

}  // namespace hookd
