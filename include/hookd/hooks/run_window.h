// RunWindow: the events the hooks consumer has read past its journal cursor,
// in journal order, and where each one's run stands. The cursor may pass an
// event only once it and every event before it are done, so a restart runs
// again whatever had not finished: at least once, never skipped.
//
// Not thread-safe (the runner's strand).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "hookd/core/event.h"
#include "hookd/hooks/process.h"

namespace hookd {

class RunWindow {
 public:
  // cleaning: finished and recorded, its run directory is being removed.
  // interrupted: a drain cancelled it; the cursor never passes it.
  enum class State { waiting, running, cleaning, done, interrupted };

  struct Entry {
    std::uint64_t seq = 0;
    Event event;
    State state = State::waiting;
    ChildProcess child;  // while running, to cancel it
  };

  // `seq` is above every seq pushed before.
  void push(std::uint64_t seq, Event event);

  std::size_t size() const { return entries_.size(); }
  // Read but neither started nor skipped yet.
  std::size_t waiting() const { return entries_.size() - dispatched_; }

  // The oldest waiting entry, from now on not waiting; nullptr when none is.
  Entry* next_waiting();
  Entry* find(std::uint64_t seq);

  // Drops the done entries at the front. The seq of the last one dropped
  // (the new cursor), or nullopt when the first entry is not done.
  std::optional<std::uint64_t> pop_done();

  // A drain gave up waiting: ends every run still going.
  void cancel_running() const;

 private:
  std::deque<Entry> entries_;
  std::size_t dispatched_ = 0;  // the first ones: started or skipped
};

}  // namespace hookd
