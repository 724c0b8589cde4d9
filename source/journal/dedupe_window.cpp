#include "hookd/journal/dedupe_window.h"

#include <algorithm>

namespace hookd::journal_detail {

DedupeWindow::DedupeWindow(std::chrono::milliseconds window)
    : window_ms_(std::max<std::int64_t>(0, window.count())),
      step_ms_(std::max<std::int64_t>(1, window_ms_ / 1024)) {}

void DedupeWindow::add(std::uint64_t hash, std::uint64_t seq, std::int64_t at_ms) {
  if (hashes_.empty()) {
    first_seq_ = seq;
  } else if (seq < end_seq()) {
    return;  // not newer than the newest: cannot be placed in the ring
  }
  // A gap (records skipped as corrupt) holds places that index nothing.
  while (end_seq() < seq)
    hashes_.push_back(0);
  hashes_.push_back(hash);
  index_.add(hash, seq);
  if (window_ms_ == 0) return;
  if (!marks_.empty()) at_ms = std::max(at_ms, marks_.back().last_ms);
  if (marks_.empty() || at_ms >= marks_.back().first_ms + step_ms_) {
    marks_.push_back(Mark{seq, at_ms, at_ms});
  } else {
    marks_.back().last_ms = at_ms;
  }
}

void DedupeWindow::pop_front() {
  index_.remove(hashes_.front(), first_seq_);
  hashes_.pop_front();
  ++first_seq_;
}

std::size_t DedupeWindow::expire(std::int64_t now_ms, std::size_t max) {
  if (window_ms_ == 0) return 0;
  const std::int64_t cutoff = now_ms - window_ms_;
  std::size_t forgotten = 0;
  while (!marks_.empty() && marks_.front().last_ms < cutoff) {
    const std::uint64_t end = marks_.size() > 1 ? marks_[1].first_seq : end_seq();
    while (first_seq_ < end && !hashes_.empty()) {
      if (forgotten == max) return forgotten;
      pop_front();
      ++forgotten;
    }
    marks_.pop_front();
  }
  return forgotten;
}

std::size_t DedupeWindow::forget_through(std::uint64_t last_seq, std::size_t max) {
  std::size_t forgotten = 0;
  while (!hashes_.empty() && first_seq_ <= last_seq && forgotten < max) {
    pop_front();
    ++forgotten;
  }
  // Marks wholly before the first indexed seq go; the first one now starts
  // there.
  while (marks_.size() > 1 && marks_[1].first_seq <= first_seq_)
    marks_.pop_front();
  if (hashes_.empty()) {
    marks_.clear();
  } else if (!marks_.empty()) {
    marks_.front().first_seq = std::max(marks_.front().first_seq, first_seq_);
  }
  return forgotten;
}

}  // namespace hookd::journal_detail
