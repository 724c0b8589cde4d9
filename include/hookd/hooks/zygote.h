// Zygote: one warm CPython (source/hooks/zygote.py) for one runbooks
// snapshot. It has imported the preload modules and compiled the snapshot's
// scripts once; each run is a fork of it. Started through run_process with a
// hook's own environment limits, never hookd's environment; spoken to over a
// socketpair (zygote_protocol.h).
//
// hookd does not trust it: a death, a silence or a malformed record ends the
// zygote and is an error value for every run waiting on it, never a crash.
//
// Thread-safe. fork_run() blocks, so it is for the SpawnPool's threads, never
// for the io_context's.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hookd/hooks/process.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

struct HookRun;

struct ZygoteOptions {
  std::string interpreter;                          // argv[0] of the zygote and of spawned runs
  std::vector<std::string> env;                     // its whole environment
  std::filesystem::path dir;                        // its cwd (empty and its own)
  std::vector<std::string> preload;                 // modules to import
  std::vector<std::filesystem::path> scripts;       // to compile
  std::string commit;                               // for logs and its command line
  std::chrono::milliseconds load_timeout{60000};    // from start to READY
  std::chrono::milliseconds answer_timeout{10000};  // from RUN to STARTED or FAILED
  std::size_t output_max_bytes = 4096;              // of its own output, logged when it ends
  // Contained: what the zygote applies to itself when it starts (its cage's
  // cgroups, the rlimits, no_new_privs, the hook user). Null: none.
  std::shared_ptr<const ChildSetup> setup;
};

// How a zygote ended.
struct ZygoteEnd {
  bool was_ready = false;
  bool retired = false;      // retire() ended it, as asked
  bool unsupported = false;  // this interpreter cannot be a zygote: never start another
  std::string reason;        // empty when retired
  std::chrono::steady_clock::duration lived{};
};

// What fork_run() got.
struct ZygoteFork {
  std::optional<AdoptedChild> child;  // the run's child, to watch_adopted_child()
  std::string error;                  // when there is no child
  // No child, and none can have run the script: the run may start elsewhere.
  bool may_start_elsewhere = true;
};

class Zygote {
 public:
  // Starts the process and sends it LOAD. `ended` runs once on `io` when it
  // is gone, whatever the reason.
  static std::shared_ptr<Zygote> start(boost::asio::io_context& io, ZygoteOptions options,
                                       std::function<void(const ZygoteEnd&)> ended);
  ~Zygote();
  Zygote(const Zygote&) = delete;
  Zygote& operator=(const Zygote&) = delete;

  const std::string& commit() const;
  int pid() const;  // 0 until started
  // READY, not retired or gone, and this script compiled cleanly.
  bool can_run(const std::filesystem::path& script) const;
  bool ready() const;

  // A child for `run` (prepared: env and cwd set), forked and in its own
  // process group, or contained as run.process.setup says (zygote_setup.h).
  // Blocks until the zygote answers (at most answer_timeout, then the
  // zygote is ended).
  ZygoteFork fork_run(const HookRun& run);

  // Takes no more runs; ends once the runs in flight have been reaped.
  void retire();
  // Ends it now (SIGTERM to its group, SIGKILL after a grace).
  void kill();

  struct State;

 private:
  explicit Zygote(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// The bootstrap given to `INTERPRETER -c`: it reads the zygote's source as
// the first record on stdin and executes it.
const char* zygote_bootstrap();
// source/hooks/zygote.py, embedded at build time.
const char* zygote_source();

}  // namespace hookd
