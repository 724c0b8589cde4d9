// Test support for the hook executors: the spawn and the prewarm executor
// side by side over one io_context and one runbooks snapshot, a run of a
// script under either, and a look at processes through /proc.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hookd/hooks/executor.h"
#include "hookd/hooks/hook_env.h"
#include "hookd/runbooks/runbooks.h"
#include "support/support.h"

namespace hookd::test {

inline const std::string kPython = "/usr/bin/python3";
// Set in this process (the zygote's parent) by Executors: no run may see them.
inline const std::string kGitPassword = "hunter2-matrix";
inline const std::string kInboundSecret = "whsec_bWF0cml4LXNlY3JldC1zaG91bGQtbm90LWxlYWs=";
inline const std::string kCanary = "canary-of-the-test-process";

// Field `index` (1-based) of /proc/<pid>/stat; empty when it is gone.
std::string stat_field(int pid, int index);
// Gone or a zombie.
bool gone(int pid);
// Prewarm zygotes of this process for `commit` (found by their command line).
std::vector<int> zygotes_of(const std::string& commit);

struct RunBounds {
  std::chrono::milliseconds timeout{30000}, kill_grace{2000};
  std::size_t output_max_bytes = 4 << 20;
};

class Executors {
 public:
  // `extra_env` goes into every run's (and the zygote's) environment, with
  // OUT_DIR (out) and TEST_SID (this process's session). Sets kGitPassword
  // and friends in this process until destroyed.
  explicit Executors(std::vector<std::string> extra_env = {},
                     std::vector<std::string> preload = {"json", "os", "sys", "base64", "hashlib",
                                                         "hmac", "datetime", "socket"},
                     std::string interpreter = kPython);
  ~Executors();
  Executors(const Executors&) = delete;
  Executors& operator=(const Executors&) = delete;

  // Scripts by name, published as the snapshot `commit`; name.runbook.py -> path.
  std::map<std::string, std::filesystem::path> publish(
      const std::map<std::string, std::string>& by_name, const std::string& commit = "c1");

  // One run of `script` (argv: the interpreter and the script) under
  // `executor`, waited for. Throws std::runtime_error when it never ends.
  ProcessResult run(Executor& executor, const std::filesystem::path& script,
                    const std::string& payload = R"({"tag":"matrix","n":1})", RunBounds bounds = {},
                    const std::string& commit = "c1");

  // Until a run of `script` is forked from a ready zygote (at most 60 s).
  bool zygote_ready(const std::filesystem::path& script, const std::string& commit = "c1");

  Executor& spawn() { return *spawn_; }
  Executor& prewarm() { return *prewarm_; }
  const std::filesystem::path& out() const { return out_; }

 private:
  TempDir dir_;
  std::filesystem::path scripts_, out_, work_;
  std::string interpreter_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread thread_;
  HookEnvironment environment_;
  std::mutex snapshot_mutex_;
  std::shared_ptr<const RunbooksSnapshot> snapshot_;
  std::unique_ptr<Executor> spawn_, prewarm_;
  std::uint64_t seq_ = 0;
};

}  // namespace hookd::test
