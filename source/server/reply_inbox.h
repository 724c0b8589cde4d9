// ReplyInbox: answers handed to one reactor from other threads, run on that
// reactor in one go. The journal answers a whole group commit at once, one
// request after another; posting each answer on its own would take the
// reactor's queue lock (against the reactor, which takes it for every
// handler) and wake it once per request, where one post per group does.
// Thread-safe: deliver() from any thread; replies run on the reactor.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "hookd/server/http_message.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

// What a reply is for: a connection waiting for the answer to its request
// `serial`. Called on the reactor's thread.
class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;
  virtual void on_reply(std::uint64_t serial, HttpResponse&& response) = 0;
};

class ReplyInbox : public std::enable_shared_from_this<ReplyInbox> {
 public:
  explicit ReplyInbox(boost::asio::io_context& context) : context_(context) {}

  // Runs target->on_reply(serial, response) on the reactor soon; the target
  // is kept alive until then (or until the reactor is gone without running).
  void deliver(std::shared_ptr<ReplyTarget> target, std::uint64_t serial, HttpResponse response);

 private:
  struct Reply {
    std::shared_ptr<ReplyTarget> target;
    std::uint64_t serial = 0;
    HttpResponse response;
  };
  class Drain;

  // On the reactor: everything delivered since the post, in order.
  void run_waiting();
  // The reactor went away with a post pending: drop the replies, and with
  // them the connections they keep alive (which hold this inbox).
  void discard_waiting();

  boost::asio::io_context& context_;
  std::mutex mutex_;
  std::vector<Reply> waiting_;  // guarded by mutex_
  bool posted_ = false;         // guarded by mutex_: a Drain is on its way
};

}  // namespace hookd
