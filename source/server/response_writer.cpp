#include "response_writer.h"

#include <algorithm>
#include <boost/asio/error.hpp>

#include "hookd/server/response_head.h"

namespace hookd {

namespace net = boost::asio;

namespace {

// Buffers up to this size are kept for the connection's next response.
constexpr std::size_t kKeepBufferBytes = 64 * 1024;

}  // namespace

ResponseGather ResponseBuffers::prepare(HttpResponse&& response, unsigned version,
                                        bool head_request, bool keep_alive) {
  body_ = std::move(response.body);
  bool has_body = serialize_response_head(head_, version, response, body_.size(), keep_alive);
  return {net::buffer(head_),
          net::buffer(body_.data(), has_body && !head_request ? body_.size() : 0)};
}

void ResponseBuffers::release() {
  body_.clear();
  if (body_.capacity() > kKeepBufferBytes) std::string().swap(body_);
  if (head_.capacity() > kKeepBufferBytes) std::string().swap(head_);
}

bool write_now(net::ip::tcp::socket& socket, ResponseGather& buffers,
               boost::system::error_code& ec) {
  std::size_t written = socket.write_some(buffers, ec);
  if (ec == net::error::would_block) {
    ec = {};
    written = 0;
  }
  if (ec || written == net::buffer_size(buffers)) return true;
  for (auto& buffer : buffers) {
    std::size_t skip = std::min(written, buffer.size());
    buffer += skip;
    written -= skip;
  }
  return false;
}

}  // namespace hookd
