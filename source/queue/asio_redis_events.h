// Drives a hiredis async context from an Asio io_context: hiredis asks for
// read and write readiness through its ev hooks, and a stream_descriptor on
// the context's socket waits for it. Private to source/queue.
#pragma once

struct redisAsyncContext;

namespace boost::asio {
class io_context;
}

namespace hookd {

// Installs the ev hooks; hiredis' cleanup hook detaches them again (the
// socket stays hiredis' to close). Call on the io_context's thread, once per
// context, right after redisAsyncConnect.
void attach_to_asio(redisAsyncContext* context, boost::asio::io_context& io);

}  // namespace hookd
