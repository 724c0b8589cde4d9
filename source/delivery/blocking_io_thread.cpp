#include "hookd/delivery/blocking_io_thread.h"

namespace hookd {

BlockingIoThread::BlockingIoThread() : thread_([this] { run(); }) {}

BlockingIoThread::~BlockingIoThread() {
  stop();
}

void BlockingIoThread::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void BlockingIoThread::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void BlockingIoThread::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopped_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace hookd
