#include "hookd/hooks/executor.h"

#include "hookd/hooks/hook_run.h"

namespace hookd {
namespace {

class SpawnExecutor final : public Executor {
 public:
  explicit SpawnExecutor(boost::asio::io_context& io) : io_(io) {}

  ChildProcess start(const HookRun& run, std::function<void(ProcessResult)> done) override {
    return run_process(io_, run.process, std::move(done));
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace

std::unique_ptr<Executor> make_spawn_executor(boost::asio::io_context& io) {
  return std::make_unique<SpawnExecutor>(io);
}

}  // namespace hookd
