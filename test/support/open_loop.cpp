#include "support/open_loop.h"

#include <deque>
#include <fstream>
#include <sstream>

#include "support/support.h"

namespace hookd::test {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

OpenLoopPoster::OpenLoopPoster(const std::atomic<unsigned short>& port, Options options)
    : port_(port), options_(std::move(options)), running_(options_.threads) {
  for (std::size_t t = 0; t < options_.threads; ++t)
    threads_.emplace_back([this, t] { run(t); });
}

OpenLoopPoster::~OpenLoopPoster() {
  quit_ = true;
  for (auto& thread : threads_)
    thread.join();
}

bool OpenLoopPoster::post(const std::string& id) {
  const Reply reply = post_json(port_.load(), "/v1/events", options_.body(id));
  std::lock_guard lock(mu_);
  ++counts_.posts;
  if (reply.status == 202 || reply.status == 200) {
    ++(reply.status == 202 ? counts_.accepted : counts_.duplicates);
    accepted_.push_back(id);
    return true;
  }
  ++(reply.status == 0 ? counts_.unanswered : counts_.refused);
  return false;
}

// Thread t owns the due times t, t + T, t + 2T, ...: due time k of it is
// start + (t + k T) / rate. An unanswered id takes the next due time before
// a new id does.
void OpenLoopPoster::run(std::size_t thread) {
  const auto start = Clock::now();
  const double period = static_cast<double>(options_.threads) / options_.rate;
  const double offset = static_cast<double>(thread) / options_.rate;
  std::deque<std::string> unanswered;
  for (std::uint64_t k = 0; !quit_; ++k) {
    if (new_ids_) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(offset + period * static_cast<double>(k))));
    } else if (unanswered.empty()) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::string id;
    if (!unanswered.empty()) {
      id = std::move(unanswered.front());
      unanswered.pop_front();
    } else {
      id = options_.id_prefix + std::to_string(thread + k * options_.threads);
    }
    if (!post(id)) unanswered.push_back(std::move(id));
  }
  --running_;
}

bool OpenLoopPoster::finish(std::chrono::milliseconds timeout) {
  new_ids_ = false;
  const bool all_answered = wait_until([&] { return running_ == 0; }, timeout);
  quit_ = true;
  for (auto& thread : threads_)
    thread.join();
  threads_.clear();
  return all_answered;
}

std::vector<std::string> OpenLoopPoster::accepted() const {
  std::lock_guard lock(mu_);
  return accepted_;
}

OpenLoopPoster::Counts OpenLoopPoster::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::uint64_t resident_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

}  // namespace hookd::test
