#include "reply_inbox.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace hookd {

// The posted handler. Destroyed unrun (the io_context stopped and went
// away first), it drops what is waiting, so that no connection and inbox
// keep each other alive.
class ReplyInbox::Drain {
 public:
  explicit Drain(std::shared_ptr<ReplyInbox> inbox) : inbox_(std::move(inbox)) {}
  Drain(Drain&& other) noexcept : inbox_(std::move(other.inbox_)) {}
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;
  Drain& operator=(Drain&&) = delete;
  ~Drain() {
    if (inbox_) inbox_->discard_waiting();
  }

  void operator()() {
    std::shared_ptr<ReplyInbox> inbox = std::move(inbox_);
    inbox->run_waiting();
  }

 private:
  std::shared_ptr<ReplyInbox> inbox_;
};

void ReplyInbox::deliver(std::shared_ptr<ReplyTarget> target, std::uint64_t serial,
                         HttpResponse response) {
  bool post = false;
  {
    std::lock_guard lock(mutex_);
    waiting_.push_back(Reply{std::move(target), serial, std::move(response)});
    post = !posted_;
    posted_ = true;
  }
  if (post) boost::asio::post(context_, Drain(shared_from_this()));
}

void ReplyInbox::run_waiting() {
  std::vector<Reply> replies;
  {
    std::lock_guard lock(mutex_);
    replies.swap(waiting_);
    posted_ = false;
  }
  for (Reply& reply : replies)
    reply.target->on_reply(reply.serial, std::move(reply.response));
  // The Drain running this holds the inbox, so it is still here: hand the
  // storage back for the next group.
  replies.clear();
  std::lock_guard lock(mutex_);
  if (waiting_.empty()) waiting_.swap(replies);
}

void ReplyInbox::discard_waiting() {
  std::vector<Reply> replies;
  std::lock_guard lock(mutex_);
  replies.swap(waiting_);
  posted_ = false;
  // `replies` goes after the lock: a connection released there may be the
  // last owner of this inbox.
}

}  // namespace hookd
