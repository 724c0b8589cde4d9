// Serving one accepted connection: HTTP/1.1 with keep-alive and pipelining,
// over plain TCP or TLS (when the listener has a TLS context). The session
// runs on the shard's reactor and keeps the listener and shard alive.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>

namespace hookd {

class HttpListener;
struct Shard;

void run_session(std::shared_ptr<HttpListener> listener, std::shared_ptr<Shard> shard,
                 boost::asio::ip::tcp::socket socket);

}  // namespace hookd
