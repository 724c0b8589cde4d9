#include "hookd/journal/segment_reaper.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <utility>

namespace hookd::journal_detail {
namespace {

// How often segments a reader still holds are looked at again: reads hold a
// segment for one pread, so the next look almost always finds it free.
constexpr auto kRecheck = std::chrono::milliseconds(100);
// Blocks are given back in steps with a pause between, so that each
// filesystem journal commit frees only a step's worth.
constexpr off_t kFreeStep = 4 << 20;
constexpr auto kFreePause = std::chrono::milliseconds(10);

}  // namespace

SegmentReaper::SegmentReaper(std::function<void(const Segment&)> on_retired)
    : on_retired_(std::move(on_retired)), thread_([this] { run(); }) {}

SegmentReaper::~SegmentReaper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void SegmentReaper::take(std::vector<SegmentPtr> segments) {
  if (segments.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto& segment : segments)
      fresh_.push_back(std::move(segment));
  }
  wake_.notify_one();
}

std::size_t SegmentReaper::flush() {
  std::unique_lock lock(mu_);
  const std::size_t ticket = ++flush_requests_;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return flush_done_ >= ticket || stopping_; });
  return held_.size();
}

void SegmentReaper::collect_unreferenced(std::vector<SegmentPtr>& out) {
  // use_count() == 1 is exact here: a retired segment is in no list any more,
  // so no new reference to it can appear once the others are gone.
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->use_count() == 1) {
      out.push_back(std::move(*it));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void SegmentReaper::give_back_blocks(const Segment& segment) {
  struct stat st {};
  if (segment.fd < 0 || ::fstat(segment.fd, &st) != 0) return;
  // Unlinked and read by no one: cutting it changes nothing anyone sees. A
  // descriptor opened read-only cannot be cut; it is closed whole.
  for (off_t size = st.st_size; size > kFreeStep;) {
    size -= kFreeStep;
    if (::ftruncate(segment.fd, size) != 0) return;
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, kFreePause, [this] { return stopping_; })) return;
  }
}

void SegmentReaper::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, kRecheck, [this] {
      return stopping_ || flush_requests_ > flush_done_ || !fresh_.empty() ||
             (!held_.empty() && held_.back().use_count() == 1);
    });
    std::vector<SegmentPtr> fresh = std::move(fresh_);
    fresh_.clear();
    const std::size_t answered = flush_requests_;
    lock.unlock();
    if (on_retired_) {
      for (const SegmentPtr& segment : fresh)
        on_retired_(*segment);
    }
    lock.lock();
    for (SegmentPtr& segment : fresh)
      held_.push_back(std::move(segment));
    std::vector<SegmentPtr> closing;
    collect_unreferenced(closing);
    lock.unlock();
    for (SegmentPtr& segment : closing) {
      give_back_blocks(*segment);
      segment.reset();  // the close(2), outside the lock
    }
    lock.lock();
    flush_done_ = answered;
    flushed_.notify_all();
  }
  flushed_.notify_all();
}

}  // namespace hookd::journal_detail
