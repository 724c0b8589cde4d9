// KillSequence: when a hook's child and its process group are signalled,
// reaped and declared finished, as a pure state machine of (event, now).
//
// The order it keeps: a timeout or cancel sends SIGTERM to the group, then
// SIGKILL once kill_grace has passed. When the child itself exits (a zombie
// still holding the pid, which is the group id) its descendants get `linger`
// to close the output pipe; then SIGKILL to the group, then the reap. After
// the reap no signal is ever asked for, so none can reach a recycled pid. A
// pipe still held after another `linger` (a descendant that left the group)
// is given up. The run is complete once it is reaped and the pipe is closed.
//
// A value type; not thread-safe. The caller owns the clock and one timer,
// armed at deadline().
#pragma once

#include <chrono>
#include <optional>

namespace hookd {

class KillSequence {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds kill_grace{5000};
    std::chrono::milliseconds linger{200};
  };

  enum class Event {
    started,        // the child runs: the timeout starts counting
    deadline,       // the time deadline() named has come (early calls do nothing)
    cancel,         // end the run the way a timeout does
    leader_exited,  // the child itself exited; not reaped yet
    output_closed,  // the output pipe reached its end or was given up
  };

  // What the caller does now, in this order.
  struct Step {
    int signal = 0;             // send to the process group (0: none)
    bool reap = false;          // reap the child
    bool stop_reading = false;  // give up the output pipe
    bool complete = false;      // the run is over: report it
    bool operator==(const Step&) const = default;
  };

  explicit KillSequence(Limits limits) : limits_(limits) {}

  Step on(Event event, Clock::time_point now);

  // When to call on(Event::deadline) next; nullopt: nothing is timed.
  std::optional<Clock::time_point> deadline() const;

  bool timed_out() const { return timed_out_; }
  bool cancelled() const { return cancelled_; }
  bool complete() const { return complete_; }

 private:
  Step on_deadline(Clock::time_point now);
  Step on_leader_exit(Clock::time_point now);
  Step on_output_closed(Clock::time_point now);
  Step terminate(Clock::time_point now);
  Step finish_group(Clock::time_point now);
  Step completion();

  Limits limits_;
  std::optional<Clock::time_point> timeout_at_, grace_at_, linger_at_;
  bool terminating_ = false;
  bool leader_exited_ = false;
  bool reaped_ = false;
  bool output_closed_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool complete_ = false;
};

}  // namespace hookd
