// HookResults: what the hook runs did. The latest run of each event as JSON
// for GET /v1/events/{id} (a bounded number; the least recently run event is
// forgotten first), the counters by outcome, and for each finished run its
// metrics and log line.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace hookd {

struct HookRun;
struct ProcessResult;

// A finished run's outcome: "ok" (exit 0), "failed", "timeout", "oom" (the
// memory limit killed a process of the run), "spawn_error" or
// "interrupted" (cancelled by a drain: it runs again).
std::string_view hook_outcome(const ProcessResult& result, bool interrupted);

class HookResults {
 public:
  struct Counts {
    std::uint64_t ok = 0, failed = 0, timeout = 0, spawn_error = 0, interrupted = 0, skipped = 0;
    std::uint64_t skipped_hook_events = 0;  // hook.* events: no hook runs for them
    std::uint64_t oom = 0;
    std::uint64_t output_dropped_bytes = 0;
  };

  explicit HookResults(std::size_t max_results);

  // The run is under way: {"outcome":"running",...}.
  void started(const HookRun& run);
  // Returns the run's JSON, as status_json() gives it from now on.
  std::string finished(const HookRun& run, const ProcessResult& result, bool interrupted);
  // An event whose type has no script.
  void skipped();
  // A hook.* event (hook_finished.h): hooks never run for their own outcomes.
  void skipped_hook_event();

  // The latest run of this event, or nullopt when none ran or it was forgotten.
  std::optional<std::string> status_json(std::string_view event_id) const;
  Counts counts() const;

 private:
  void remember(const std::string& event_id, std::string json);

  using Entries = std::list<std::pair<std::string, std::string>>;  // most recent first
  const std::size_t max_results_;
  mutable std::mutex mutex_;
  Entries entries_;
  std::unordered_map<std::string, Entries::iterator> index_;
  Counts counts_;
};

}  // namespace hookd
