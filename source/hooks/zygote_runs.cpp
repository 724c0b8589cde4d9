#include "hookd/hooks/zygote_runs.h"

namespace hookd {

std::optional<std::pair<std::uint64_t, std::future<ZygoteFork>>> ZygoteRuns::expect_fork() {
  std::lock_guard lock(mutex_);
  if (closed_) return std::nullopt;
  std::uint64_t id = next_id_++;
  auto future = forks_[id].get_future();
  return std::make_pair(id, std::move(future));
}

void ZygoteRuns::forget_fork(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  forks_.erase(id);
}

bool ZygoteRuns::answer_fork(std::uint64_t id, ZygoteFork fork, bool forked) {
  std::promise<ZygoteFork> answer;
  {
    std::lock_guard lock(mutex_);
    auto it = forks_.find(id);
    if (it == forks_.end()) return false;
    answer = std::move(it->second);
    forks_.erase(it);
    if (forked) ++in_flight_;
  }
  answer.set_value(std::move(fork));
  return true;
}

bool ZygoteRuns::expect_reap(std::uint64_t id, Reaped reaped) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    if (in_flight_ > 0) --in_flight_;
    return false;
  }
  reaps_[id] = std::move(reaped);
  return true;
}

ZygoteRuns::Reaped ZygoteRuns::take_reap(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = reaps_.find(id);
  if (it == reaps_.end()) return nullptr;
  auto reaped = std::move(it->second);
  reaps_.erase(it);
  if (in_flight_ > 0) --in_flight_;
  return reaped;
}

bool ZygoteRuns::idle() const {
  std::lock_guard lock(mutex_);
  return in_flight_ == 0 && forks_.empty();
}

bool ZygoteRuns::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void ZygoteRuns::close(const std::string& error, bool may_start_elsewhere) {
  std::map<std::uint64_t, std::promise<ZygoteFork>> forks;
  std::map<std::uint64_t, Reaped> reaps;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    forks.swap(forks_);
    reaps.swap(reaps_);
    in_flight_ -= std::min(in_flight_, reaps.size());
  }
  for (auto& [id, answer] : forks)
    answer.set_value(ZygoteFork{std::nullopt, error, may_start_elsewhere});
  for (auto& [id, reaped] : reaps)
    reaped(std::nullopt);
}

}  // namespace hookd
