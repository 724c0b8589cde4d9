#include "hookd/delivery/cursor_committer.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "hookd/journal/journal.h"

namespace hookd {

// Shared with the pending wait, which may outlive the committer.
struct CursorCommitter::Timer {
  explicit Timer(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  CursorCommitter* owner = nullptr;  // null once the committer is gone
  bool armed = false;
};

CursorCommitter::CursorCommitter(boost::asio::io_context& io, Journal& journal,
                                 std::string consumer, std::function<std::uint64_t()> position,
                                 std::chrono::milliseconds delay)
    : journal_(journal),
      consumer_(std::move(consumer)),
      position_(std::move(position)),
      delay_(delay),
      timer_(std::make_shared<Timer>(io)) {
  timer_->owner = this;
}

CursorCommitter::~CursorCommitter() {
  timer_->owner = nullptr;
  timer_->timer.cancel();
}

void CursorCommitter::schedule() {
  if (timer_->armed || stopped_) return;
  timer_->armed = true;
  timer_->timer.expires_after(delay_);
  // Cancelled (stop) or not, the wait ends in a commit of what moved.
  timer_->timer.async_wait([timer = timer_](boost::system::error_code) {
    timer->armed = false;
    if (timer->owner) timer->owner->commit_now();
  });
}

void CursorCommitter::commit_now() {
  std::uint64_t c = position_();
  if (c > committed_) {
    journal_.commit(consumer_, c);
    committed_ = c;
  }
}

void CursorCommitter::stop() {
  stopped_ = true;
  timer_->timer.cancel();
}

}  // namespace hookd
