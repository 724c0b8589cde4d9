#include "hookd/hooks/executor.h"

#include "hookd/core/metrics.h"
#include "hookd/hooks/hook_run.h"

namespace hookd {
namespace {

class SpawnExecutor final : public Executor {
 public:
  explicit SpawnExecutor(boost::asio::io_context& io) : io_(io) {}

  ChildProcess start(const HookRun& run, std::function<void(ProcessResult)> done) override {
    runs_.inc();
    return run_process(io_, run.process, [done = std::move(done)](ProcessResult r) {
      r.executor = "spawn";
      done(std::move(r));
    });
  }

 private:
  boost::asio::io_context& io_;
  Counter& runs_ =
      metrics().counter("hookd_hook_executor_runs_total",
                        "Hook runs by the executor that started them", {{"executor", "spawn"}});
};

}  // namespace

std::unique_ptr<Executor> make_spawn_executor(boost::asio::io_context& io) {
  return std::make_unique<SpawnExecutor>(io);
}

}  // namespace hookd
