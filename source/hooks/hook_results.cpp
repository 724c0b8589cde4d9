#include "hookd/hooks/hook_results.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "hookd/core/event.h"
#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/core/utf8.h"
#include "hookd/hooks/hook_run.h"
#include "hookd/hooks/output_capture.h"

namespace hookd {
namespace {

struct ResultMetrics {
  Counter& runs(std::string_view outcome) {
    return metrics().counter("hookd_hook_runs_total", "Hook runs by outcome",
                             {{"outcome", std::string(outcome)}});
  }
  Counter& ok = runs("ok");
  Counter& failed = runs("failed");
  Counter& timeout = runs("timeout");
  Counter& oom = runs("oom");
  Counter& spawn_error = runs("spawn_error");
  Counter& interrupted = runs("interrupted");
  Histogram& duration =
      metrics().histogram("hookd_hook_duration_seconds", "Hook run duration, spawn to exit",
                          duration_buckets_seconds());
  Histogram& latency = metrics().histogram("hookd_hook_latency_seconds",
                                           "Event accepted to its hook's exit (ms resolution)",
                                           latency_buckets_seconds());
  Counter& dropped = metrics().counter("hookd_hook_output_dropped_bytes_total",
                                       "Hook output bytes beyond --hook-output-max-bytes");
  Counter& skipped =
      metrics().counter("hookd_hook_events_skipped_total", "Events whose type has no hook script");
  Counter& skipped_hook_events = metrics().counter(
      "hookd_hook_own_events_skipped_total", "hook.* events, for which no hook runs (no loops)");

  Counter& exit_code(int code) {
    return metrics().counter("hookd_hook_exit_codes_total", "Hook exit codes",
                             {{"code", std::to_string(code & 0xFF)}});
  }
};

ResultMetrics& result_metrics() {
  static ResultMetrics m;
  return m;
}

void count(const HookRun& run, const ProcessResult& result, std::string_view outcome,
           HookResults::Counts& counts) {
  auto& m = result_metrics();
  auto tally = [&](std::uint64_t& n, Counter& counter) {
    ++n;
    counter.inc();
  };
  if (outcome == "ok") tally(counts.ok, m.ok);
  if (outcome == "failed") tally(counts.failed, m.failed);
  if (outcome == "timeout") tally(counts.timeout, m.timeout);
  if (outcome == "oom") tally(counts.oom, m.oom);
  if (outcome == "spawn_error") tally(counts.spawn_error, m.spawn_error);
  if (outcome == "interrupted") tally(counts.interrupted, m.interrupted);
  counts.output_dropped_bytes += result.output_dropped_bytes;
  if (result.spawn_error.empty() && result.pid != 0) {
    m.duration.observe(std::chrono::duration<double>(result.duration).count());
  }
  if (result.exit_code) m.exit_code(*result.exit_code).inc();
  if (run.accepted_unix_ms > 0 && result.spawn_error.empty()) {
    m.latency.observe(static_cast<double>(now_unix_ms() - run.accepted_unix_ms) / 1000.0);
  }
  if (result.output_dropped_bytes > 0) {
    m.dropped.inc(static_cast<double>(result.output_dropped_bytes));
  }
}

boost::json::object run_json(const HookRun& run, std::string_view outcome) {
  boost::json::object o;
  o["script"] = run.script_name;
  o["commit"] = run.commit;
  o["outcome"] = outcome;
  return o;
}

void log_finished(const HookRun& run, const ProcessResult& result, std::string_view outcome,
                  bool interrupted, const std::string& output, std::int64_t duration_ms) {
  const char* message = interrupted ? "hook interrupted" : "hook finished";
  if (!result.spawn_error.empty()) {
    log::warn(message, {{"event_id", run.event_id},
                        {"type", run.type},
                        {"script", run.script_name},
                        {"commit", run.commit},
                        {"outcome", outcome},
                        {"error", result.spawn_error}});
    return;
  }
  // A signal or an exit code: one of the two ended the run.
  auto info = [&](log::Field ended_by) {
    log::info(message, {{"event_id", run.event_id},
                        {"type", run.type},
                        {"script", run.script_name},
                        {"commit", run.commit},
                        {"outcome", outcome},
                        ended_by,
                        {"duration_ms", duration_ms},
                        {"output", output},
                        {"output_dropped_bytes", result.output_dropped_bytes},
                        {"processes_killed", result.processes_killed},
                        {"pid", result.pid}});
  };
  if (result.signal) {
    info({"signal", *result.signal});
  } else {
    info({"exit_code", result.exit_code.value_or(-1)});
  }
}

}  // namespace

std::string_view hook_outcome(const ProcessResult& result, bool interrupted) {
  if (!result.spawn_error.empty()) return "spawn_error";
  if (interrupted) return "interrupted";
  if (result.oom_killed) return "oom";
  if (result.timed_out) return "timeout";
  if (result.exit_code && *result.exit_code == 0) return "ok";
  return "failed";
}

HookResults::HookResults(std::size_t max_results)
    : max_results_(std::max<std::size_t>(1, max_results)) {
  result_metrics();  // the series exist from the start, at zero
}

void HookResults::started(const HookRun& run) {
  auto o = run_json(run, "running");
  o["started_at"] = format_rfc3339(run.started_unix_ms);
  remember(run.event_id, boost::json::serialize(o));
}

std::string HookResults::finished(const HookRun& run, const ProcessResult& result,
                                  bool interrupted) {
  auto outcome = hook_outcome(result, interrupted);
  std::string output = valid_utf8(result.output);
  auto duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(result.duration).count();

  auto o = run_json(run, outcome);
  if (result.exit_code) {
    o["exit_code"] = *result.exit_code;
  } else {
    o["exit_code"] = nullptr;
  }
  if (result.signal) {
    o["signal"] = *result.signal;
  } else {
    o["signal"] = nullptr;
  }
  o["duration_ms"] = duration_ms;
  o["output"] = output;
  o["output_truncated"] = result.output_dropped_bytes > 0;
  o["output_dropped_bytes"] = result.output_dropped_bytes;
  o["processes_killed"] = result.processes_killed;
  if (!result.executor.empty()) o["executor"] = result.executor;
  if (!result.spawn_error.empty()) o["error"] = result.spawn_error;
  o["started_at"] = format_rfc3339(run.started_unix_ms);
  o["finished_at"] = format_rfc3339(now_unix_ms());
  std::string json = boost::json::serialize(o);
  remember(run.event_id, json);
  {
    std::lock_guard lock(mutex_);
    count(run, result, outcome, counts_);
  }
  log_finished(run, result, outcome, interrupted, output, duration_ms);
  return json;
}

void HookResults::skipped() {
  result_metrics().skipped.inc();
  std::lock_guard lock(mutex_);
  ++counts_.skipped;
}

void HookResults::remember(const std::string& event_id, std::string json) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(event_id); it != index_.end()) {
    entries_.erase(it->second);
    index_.erase(it);
  }
  entries_.emplace_front(event_id, std::move(json));
  index_[event_id] = entries_.begin();
  while (entries_.size() > max_results_) {
    index_.erase(entries_.back().first);
    entries_.pop_back();
  }
}

std::optional<std::string> HookResults::status_json(std::string_view event_id) const {
  std::lock_guard lock(mutex_);
  auto it = index_.find(std::string(event_id));
  if (it == index_.end()) return std::nullopt;
  return it->second->second;
}

void HookResults::skipped_hook_event() {
  result_metrics().skipped_hook_events.inc();
  std::lock_guard lock(mutex_);
  ++counts_.skipped_hook_events;
}

HookResults::Counts HookResults::counts() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

}  // namespace hookd
