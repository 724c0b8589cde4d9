#include "hookd/hooks/run_window.h"

#include <algorithm>
#include <utility>

namespace hookd {

void RunWindow::push(std::uint64_t seq, Event event) {
  entries_.push_back(Entry{seq, std::move(event), State::waiting, {}});
}

RunWindow::Entry* RunWindow::next_waiting() {
  if (dispatched_ == entries_.size()) return nullptr;
  return &entries_[dispatched_++];
}

RunWindow::Entry* RunWindow::find(std::uint64_t seq) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, std::uint64_t s) { return e.seq < s; });
  return it != entries_.end() && it->seq == seq ? &*it : nullptr;
}

std::optional<std::uint64_t> RunWindow::pop_done() {
  std::optional<std::uint64_t> last;
  while (!entries_.empty() && entries_.front().state == State::done) {
    last = entries_.front().seq;
    entries_.pop_front();
    --dispatched_;
  }
  return last;
}

void RunWindow::cancel_running() const {
  for (const auto& entry : entries_) {
    if (entry.state == State::running) entry.child.cancel();
  }
}

}  // namespace hookd
