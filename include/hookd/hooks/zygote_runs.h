// ZygoteRuns: what hookd has asked one zygote and not yet heard back: forks
// waiting for STARTED or FAILED (a SpawnPool thread blocked on the answer),
// and reaps waiting for STATUS. Once closed (the zygote is gone or no longer
// believed) every question is answered at once and new ones are refused.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "hookd/hooks/zygote.h"

namespace hookd {

class ZygoteRuns {
 public:
  using Reaped = std::function<void(std::optional<int> wait_status)>;

  // A new run id and the future of its answer; nullopt once closed.
  std::optional<std::pair<std::uint64_t, std::future<ZygoteFork>>> expect_fork();
  // The caller stopped waiting (it could not send the RUN, or gave up).
  void forget_fork(std::uint64_t id);
  // Answers a fork. `forked`: a child exists (fork.child, or one that failed
  // before the script), in flight until its reap is answered. False when
  // `id` was not waiting.
  bool answer_fork(std::uint64_t id, ZygoteFork fork, bool forked);

  // False once closed: then the caller reports the status as unknown.
  bool expect_reap(std::uint64_t id, Reaped reaped);
  // The reap waiting for `id`'s STATUS, if any.
  Reaped take_reap(std::uint64_t id);

  // Nothing waiting and nothing in flight.
  bool idle() const;
  bool closed() const;

  // Refuses new questions; forks waiting get `error` (and whether the run may
  // start elsewhere), reaps waiting get nullopt.
  void close(const std::string& error, bool may_start_elsewhere);

 private:
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::uint64_t next_id_ = 1;
  std::size_t in_flight_ = 0;  // STARTED, STATUS not in yet
  std::map<std::uint64_t, std::promise<ZygoteFork>> forks_;
  std::map<std::uint64_t, Reaped> reaps_;
};

}  // namespace hookd
