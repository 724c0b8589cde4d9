#include "support/hook_executors.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <sstream>
#include <stdexcept>

#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/prewarm_executor.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace hookd::test {

std::string stat_field(int pid, int index) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.empty()) return "";
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= index && rest >> field; ++i) {
  }
  return field;
}

bool gone(int pid) {
  auto state = stat_field(pid, 3);
  return state.empty() || state == "Z";
}

std::vector<int> zygotes_of(const std::string& commit) {
  // Its command line ends "hookd-zygote\0COMMIT"; its forked children have
  // the same one, but another parent.
  const std::string needle = std::string("hookd-zygote") + '\0' + commit + '\0';
  std::vector<int> mine;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int pid = std::stoi(name);
    if (cmdline.find(needle) != std::string::npos && !gone(pid) &&
        stat_field(pid, 4) == std::to_string(::getpid())) {
      mine.push_back(pid);
    }
  }
  return mine;
}

Executors::Executors(std::vector<std::string> extra_env, std::vector<std::string> preload,
                     std::string interpreter)
    : scripts_(dir_.path() / "scripts"),
      out_(dir_.path() / "out"),
      work_(dir_.path() / "hook-runs"),
      interpreter_(std::move(interpreter)) {
  // What the daemon must never hand on: present in the zygote's parent from the start.
  ::setenv("GIT_PASSWORD", kGitPassword.c_str(), 1);
  ::setenv("HOOKD_INBOUND_SECRET", kInboundSecret.c_str(), 1);
  ::setenv("HOOKD_TEST_CANARY", kCanary.c_str(), 1);
  fs::create_directories(scripts_);
  fs::create_directories(out_);
  extra_env.push_back("OUT_DIR=" + out_.string());
  extra_env.push_back("TEST_SID=" + std::to_string(::getsid(0)));
  auto parsed = HookEnvironment::parse(extra_env);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  environment_ = *parsed;
  guard_.emplace(io_.get_executor());
  thread_ = std::thread([this] { io_.run(); });
  spawn_ = make_spawn_executor(io_);
  PrewarmOptions o;
  o.interpreter = interpreter_;
  o.preload = std::move(preload);
  o.environment = environment_;
  o.work_dir = work_;
  o.snapshot = [this] {
    std::lock_guard lock(snapshot_mutex_);
    return snapshot_;
  };
  o.restart_min = 200ms;
  o.snapshot_poll = 100ms;
  prewarm_ = make_prewarm_executor(io_, std::move(o), make_spawn_executor(io_));
}

Executors::~Executors() {
  prewarm_.reset();
  spawn_.reset();
  guard_.reset();
  thread_.join();
  ::unsetenv("GIT_PASSWORD");
  ::unsetenv("HOOKD_INBOUND_SECRET");
  ::unsetenv("HOOKD_TEST_CANARY");
}

std::map<std::string, fs::path> Executors::publish(
    const std::map<std::string, std::string>& by_name, const std::string& commit) {
  auto s = std::make_shared<RunbooksSnapshot>();
  s->commit_id = commit;
  for (const auto& [name, text] : by_name) {
    auto path = scripts_ / (commit + "-" + name + ".runbook.py");
    write_file(path, text);
    s->scripts[name + ".runbook.py"] = path;
  }
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = s;
  return s->scripts;
}

ProcessResult Executors::run(Executor& executor, const fs::path& script, const std::string& payload,
                             RunBounds bounds, const std::string& commit) {
  auto run = std::make_shared<HookRun>();
  run->seq = ++seq_;
  run->event_id = "evt_" + std::to_string(seq_);
  run->commit = commit;
  run->payload_json = payload;
  run->process.argv = {interpreter_, script.string()};
  run->process.timeout = bounds.timeout;
  run->process.kill_grace = bounds.kill_grace;
  run->process.output_max_bytes = bounds.output_max_bytes;
  run->process.linger = 200ms;
  fs::create_directories(work_);
  if (auto prepared = prepare_run_dir(*run, work_, environment_); !prepared) {
    throw std::runtime_error(prepared.error().message);
  }
  // Shared: a run that outlives the wait must not reach a dead promise.
  auto result = std::make_shared<std::promise<ProcessResult>>();
  auto future = result->get_future();
  executor.start(*run, [result](ProcessResult r) { result->set_value(std::move(r)); });
  if (future.wait_for(120s) != std::future_status::ready) {
    throw std::runtime_error("the run of " + script.string() + " never ended");
  }
  remove_run_dir(*run);
  return future.get();
}

bool Executors::zygote_ready(const fs::path& script, const std::string& commit) {
  return wait_until([&] { return run(*prewarm_, script, "{}", {}, commit).executor == "prewarm"; },
                    60s);
}

}  // namespace hookd::test
