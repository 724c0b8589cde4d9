// SharedDeadLetters: the dead letters of every consumer kept where every node
// sees them (with --queue: one Redis hash per consumer, id -> the dead
// letter's line), so that a replay asked of any node re-queues them for
// their consumer group. Replaying takes the entries out of the list and
// appends them to the shared queue for that one consumer in a single atomic
// step: two nodes replaying at once re-queue each entry once, and a node
// that dies after the replay leaves the entries to the group like any other.
// Calls never block; callbacks run on the owner's thread (post to your own).
// Redis down: the callbacks get errors. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

class SharedDeadLetters {
 public:
  using Done = std::function<void(Result<std::size_t>)>;  // the list's size, or how many
  struct Line {
    std::string id;
    std::string text;  // the dead letter's line (delivery/dead_letters.h)
  };

  virtual ~SharedDeadLetters() = default;

  // Adds (or replaces, by id) dead letters of `consumer`; `done` gets the
  // list's size once Redis has them.
  virtual void add(const std::string& consumer, std::vector<Line> lines, Done done) = 0;

  // Drops ids delivered some other way (a manual resend); fire and forget.
  virtual void remove(const std::string& consumer, std::vector<std::string> ids) = 0;

  // Drops the whole list of a consumer that is gone for good (a deleted
  // endpoint); fire and forget.
  virtual void forget(const std::string& consumer) = 0;

  // Re-queues the dead letters whose arrival is within [since_ms, until_ms]
  // (unbounded when not given) for `consumer` alone; `done` gets how many.
  // The consumer reads them back as StoredEvents with `dead_letter` set.
  virtual void replay(const std::string& consumer, std::optional<std::int64_t> since_ms,
                      std::optional<std::int64_t> until_ms, Done done) = 0;
};

}  // namespace hookd
