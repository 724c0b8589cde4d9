#include "hookd/hooks/kill_sequence.h"

#include <csignal>

namespace hookd {
namespace {

bool due(const std::optional<KillSequence::Clock::time_point>& at,
         KillSequence::Clock::time_point now) {
  return at && now >= *at;
}

}  // namespace

KillSequence::Step KillSequence::on(Event event, Clock::time_point now) {
  if (complete_) return {};
  switch (event) {
    case Event::started:
      timeout_at_ = now + limits_.timeout;
      return {};
    case Event::deadline:
      return on_deadline(now);
    case Event::cancel:
      // Once the child has exited there is nothing left to end early.
      if (leader_exited_) return {};
      cancelled_ = true;
      return terminate(now);
    case Event::leader_exited:
      return on_leader_exit(now);
    case Event::output_closed:
      return on_output_closed(now);
  }
  return {};
}

std::optional<KillSequence::Clock::time_point> KillSequence::deadline() const {
  std::optional<Clock::time_point> next;
  for (const auto& at : {timeout_at_, grace_at_, linger_at_}) {
    if (at && (!next || *at < *next)) next = at;
  }
  return next;
}

KillSequence::Step KillSequence::on_deadline(Clock::time_point now) {
  Step step;
  if (!leader_exited_) {
    if (due(timeout_at_, now)) {
      timeout_at_.reset();
      timed_out_ = true;
      step = terminate(now);
      // One signal a step: a grace period due as well is the next step's.
      if (step.signal != 0) return step;
    }
    if (due(grace_at_, now)) {
      grace_at_.reset();
      step.signal = SIGKILL;
    }
    return step;
  }
  if (!due(linger_at_, now)) return step;
  linger_at_.reset();
  if (!reaped_) return finish_group(now);
  // A descendant that left the process group still holds the pipe.
  if (!output_closed_) step.stop_reading = true;
  return step;
}

KillSequence::Step KillSequence::on_leader_exit(Clock::time_point now) {
  if (leader_exited_) return {};
  leader_exited_ = true;
  timeout_at_.reset();
  grace_at_.reset();
  if (output_closed_) return finish_group(now);
  // Descendants still hold the pipe: give them a moment to finish writing.
  linger_at_ = now + limits_.linger;
  return {};
}

KillSequence::Step KillSequence::on_output_closed(Clock::time_point now) {
  if (output_closed_) return {};
  output_closed_ = true;
  if (leader_exited_ && !reaped_) return finish_group(now);
  return completion();
}

// Timeout or cancel: SIGTERM now, SIGKILL after the grace period.
KillSequence::Step KillSequence::terminate(Clock::time_point now) {
  if (terminating_ || reaped_) return {};
  terminating_ = true;
  grace_at_ = now + limits_.kill_grace;
  return Step{.signal = SIGTERM};
}

// The leader has exited (a zombie holding the group id): kill what remains
// of its group, then reap it.
KillSequence::Step KillSequence::finish_group(Clock::time_point now) {
  reaped_ = true;
  linger_at_.reset();
  if (!output_closed_) linger_at_ = now + limits_.linger;
  Step step = completion();
  step.signal = SIGKILL;
  step.reap = true;
  return step;
}

KillSequence::Step KillSequence::completion() {
  if (!reaped_ || !output_closed_) return {};
  complete_ = true;
  timeout_at_.reset();
  grace_at_.reset();
  linger_at_.reset();
  return Step{.complete = true};
}

}  // namespace hookd
