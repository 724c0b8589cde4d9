// BlockingIoThread: one thread for the blocking file I/O (dead-letter
// appends, endpoint state, replay reads) that a reactor must never do itself.
// Jobs run in the order posted, so a job posted after a write sees it done.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace hookd {

class BlockingIoThread {
 public:
  BlockingIoThread();
  ~BlockingIoThread();
  BlockingIoThread(const BlockingIoThread&) = delete;
  BlockingIoThread& operator=(const BlockingIoThread&) = delete;

  // Dropped once stop() has been called.
  void post(std::function<void()> job);

  // Runs what is queued, then joins the thread.
  void stop();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopped_ = false;
  std::thread thread_;  // last: starts once the rest is constructed
};

}  // namespace hookd
