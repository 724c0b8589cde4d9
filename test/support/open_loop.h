// A steady open-loop load for fault tests: event i is due at start + i/rate,
// whatever the daemon did with the ones before, over a few threads. A post
// that gets no answer (daemon down, connection reset) or a refusal (429, 5xx)
// is posted again with the same id until it is answered 200 or 202, as a
// sender that wants its events delivered does, so once finish() returns
// true, accepted() is exactly the ids posted. The daemon's port is read
// before every request (a restarted daemon listens on a new one).
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hookd::test {

class OpenLoopPoster {
 public:
  struct Options {
    double rate = 50;  // events per second, all threads together
    std::size_t threads = 4;
    std::string id_prefix = "evt_";
    // The JSON body for one event id.
    std::function<std::string(const std::string& id)> body;
  };
  struct Counts {
    std::size_t posts = 0, accepted = 0, duplicates = 0, refused = 0, unanswered = 0;
  };

  OpenLoopPoster(const std::atomic<unsigned short>& port, Options options);
  ~OpenLoopPoster();  // stops the threads (without waiting for answers)
  OpenLoopPoster(const OpenLoopPoster&) = delete;
  OpenLoopPoster& operator=(const OpenLoopPoster&) = delete;

  // Stops making new ids and posts the unanswered ones until every id is
  // answered or `timeout` passes; true when every id was answered.
  bool finish(std::chrono::milliseconds timeout);

  // Ids answered 202 or 200, each once, in no particular order.
  std::vector<std::string> accepted() const;
  Counts counts() const;

 private:
  void run(std::size_t thread);
  // Posts `id` once; true when answered 200 or 202.
  bool post(const std::string& id);

  const std::atomic<unsigned short>& port_;
  const Options options_;
  std::atomic<bool> new_ids_{true};
  std::atomic<bool> quit_{false};
  std::atomic<std::size_t> running_;
  mutable std::mutex mu_;
  std::vector<std::string> accepted_;
  Counts counts_;
  std::vector<std::thread> threads_;
};

// Resident memory of a process (VmRSS in /proc/<pid>/status), 0 when gone.
std::uint64_t resident_bytes(int pid);

}  // namespace hookd::test
