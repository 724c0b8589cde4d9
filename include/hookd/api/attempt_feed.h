// AttemptFeed: a log of delivery attempts that every node writes to and
// reads (with --queue: a Redis stream), so that each node's AttemptStore
// lists the attempts of all of them. publish() never blocks; the feed hands
// every attempt in the log, this node's own too, to the consumer given to
// start(), in the log's order, on a thread of its own. Thread-safe.
#pragma once

#include <functional>
#include <vector>

#include "hookd/api/model.h"

namespace hookd::api {

class AttemptFeed {
 public:
  virtual ~AttemptFeed() = default;

  // Queues one attempt (its id set) for the log; kept until it is written.
  virtual void publish(const Attempt& attempt) = 0;

  // Starts handing over what is in the log, from its oldest retained entry.
  // An attempt may come twice (after a restart, a lost answer): the
  // consumer keeps the first of each id.
  virtual void start(std::function<void(std::vector<Attempt>)> consume) = 0;

  // Stops the thread; nothing is handed over after it returns.
  virtual void stop() = 0;
};

}  // namespace hookd::api
