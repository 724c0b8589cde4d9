// Writing a response: the head serialised by hand (response_head.h) and the
// body go out in one gather write, from buffers a connection keeps while
// they are small. ResponseBuffers is one connection's, not thread-safe.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <string>

#include "hookd/server/http_message.h"

namespace hookd {

using ResponseGather = std::array<boost::asio::const_buffer, 2>;

class ResponseBuffers {
 public:
  // Takes the response's body and serialises its head; the buffers stay
  // valid until release(). No body bytes for HEAD, 1xx, 204 and 304.
  ResponseGather prepare(HttpResponse&& response, unsigned version, bool head_request,
                         bool keep_alive);
  // After the write: small buffers are kept for the next response; a big one
  // (a /metrics scrape) is not held by an idle connection.
  void release();

 private:
  std::string head_;
  std::string body_;
};

// A response usually fits in the socket's send buffer: taken at once, it
// needs no write operation, no timer (each costs a timerfd update) and no
// completion. Writes what the non-blocking `socket` takes now and advances
// `buffers` past it. True when nothing is left to write or `ec` is set.
bool write_now(boost::asio::ip::tcp::socket& socket, ResponseGather& buffers,
               boost::system::error_code& ec);

}  // namespace hookd
