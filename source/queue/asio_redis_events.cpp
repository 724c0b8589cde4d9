#include "asio_redis_events.h"

#include <hiredis/async.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

namespace hookd {

namespace {

namespace asio = boost::asio;

// Lives while hiredis holds it (the `self` reference) and while a wait is
// outstanding (each handler holds one): cleanup may come from inside a
// handler, when hiredis frees the context in redisAsyncHandleRead.
struct SocketWatch : std::enable_shared_from_this<SocketWatch> {
  SocketWatch(redisAsyncContext* c, asio::io_context& io) : context(c), socket(io, c->c.fd) {}

  redisAsyncContext* context;
  asio::posix::stream_descriptor socket;
  std::shared_ptr<SocketWatch> self;
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;

  // One wait per direction at a time; hiredis' add/del hooks only say
  // whether the next readiness is wanted.
  void arm(bool write) {
    bool& armed = write ? write_armed : read_armed;
    if (armed || !(write ? want_write : want_read) || context == nullptr) return;
    armed = true;
    auto direction = write ? asio::posix::stream_descriptor::wait_write
                           : asio::posix::stream_descriptor::wait_read;
    socket.async_wait(
        direction, [watch = shared_from_this(), write](const boost::system::error_code& ec) {
          (write ? watch->write_armed : watch->read_armed) = false;
          if (ec || watch->context == nullptr || !(write ? watch->want_write : watch->want_read)) {
            return;
          }
          if (write) {
            redisAsyncHandleWrite(watch->context);
          } else {
            redisAsyncHandleRead(watch->context);
          }
          watch->arm(write);
        });
  }

  void detach() {
    want_read = want_write = false;
    context = nullptr;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    socket.release();  // hiredis closes the fd itself
  }
};

SocketWatch* watch_of(void* data) {
  return static_cast<SocketWatch*>(data);
}

void add_read(void* data) {
  watch_of(data)->want_read = true;
  watch_of(data)->arm(false);
}
void del_read(void* data) {
  watch_of(data)->want_read = false;
}
void add_write(void* data) {
  watch_of(data)->want_write = true;
  watch_of(data)->arm(true);
}
void del_write(void* data) {
  watch_of(data)->want_write = false;
}
void cleanup(void* data) {
  SocketWatch* watch = watch_of(data);
  watch->detach();
  watch->self.reset();  // may destroy it: nothing touches `watch` after this
}

}  // namespace

void attach_to_asio(redisAsyncContext* context, asio::io_context& io) {
  auto watch = std::make_shared<SocketWatch>(context, io);
  watch->self = watch;
  context->ev.data = watch.get();
  context->ev.addRead = add_read;
  context->ev.delRead = del_read;
  context->ev.addWrite = add_write;
  context->ev.delWrite = del_write;
  context->ev.cleanup = cleanup;
}

}  // namespace hookd
