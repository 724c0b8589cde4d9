#include "http_listener.h"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "hookd/core/log.h"
#include "hookd/core/metrics.h"
#include "hookd/server/listen_address.h"
#include "hookd/server/reactor.h"
#include "hookd/server/tls_context.h"
#include "http_session.h"

namespace hookd {

namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpListener::HttpListener(Reactor& r, HttpServerOptions o, Router rt)
    : reactor_(r),
      options_(std::move(o)),
      router_(std::move(rt)),
      open_gauge_(metrics().gauge("hookd_http_open_connections", "Open HTTP connections")),
      rejected_(metrics().counter("hookd_http_rejected_connections_total",
                                  "Connections refused beyond max_connections")) {}

Status HttpListener::listen_on(Shard& shard, const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  auto where = [&] {
    return "listen " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  };
  auto& acceptor = shard.acceptor.emplace(shard.context);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return make_error(where() + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return make_error(where() + ": " + ec.message());
  // One listening socket per reactor on the same port; the kernel spreads
  // new connections across them.
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return make_error(where() + ": SO_REUSEPORT: " + std::strerror(errno));
  }
  acceptor.bind(endpoint, ec);
  if (ec) return make_error(where() + ": " + ec.message());
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return make_error(where() + ": " + ec.message());
  shard.retry_timer.emplace(shard.context);
  return Ok{};
}

Status HttpListener::start() {
  if (started_) return make_error("http server already started");
  started_ = true;
  auto address = parse_listen_address(options_.listen);
  if (!address) return make_error("listen: " + address.error().message);

  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto context = make_tls_server_context(options_.tls_cert_file, options_.tls_key_file);
    if (!context) return make_error("tls: " + context.error().message);
    tls_ = std::move(context).value();
  }

  tcp::endpoint endpoint;
  boost::system::error_code ec;
  auto ip = net::ip::make_address(address->host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(ip, address->port);
  } else {
    // A host name: resolved once, at start-up, where blocking is fine.
    tcp::resolver resolver(reactor_.context(0));
    auto results = resolver.resolve(address->host, std::to_string(address->port), ec);
    if (ec || results.empty()) {
      return make_error("listen: cannot resolve '" + address->host +
                        "': " + (ec ? ec.message() : "no address"));
    }
    endpoint = results.begin()->endpoint();
  }

  std::vector<std::shared_ptr<Shard>> bound;
  for (std::size_t i = 0; i < reactor_.size(); ++i) {
    bound.push_back(std::make_shared<Shard>(reactor_.context(i)));
    auto status = listen_on(*bound.back(), endpoint);
    if (!status) return status;
    if (endpoint.port() == 0) {
      // Port 0: the first bind picks the port, the others share it.
      endpoint.port(bound.back()->acceptor->local_endpoint().port());
    }
  }
  port_ = endpoint.port();
  for (auto& shard : bound) {
    shards_.push_back(shard);
    auto& context = shard->context;
    net::post(context, [self = shared_from_this(), shard = std::move(shard)]() mutable {
      self->accept(std::move(shard));
    });
  }
  log::info("http server listening", {{"address", endpoint.address().to_string()},
                                      {"port", endpoint.port()},
                                      {"tls", tls_ != nullptr},
                                      {"acceptors", bound.size()}});
  return Ok{};
}

void HttpListener::accept(std::shared_ptr<Shard> shard) {
  if (stopped_ || draining_ || !shard->acceptor->is_open()) return;
  auto& acceptor = *shard->acceptor;
  auto& context = shard->context;
  acceptor.async_accept(context, [self = shared_from_this(), shard = std::move(shard)](
                                     boost::system::error_code ec, tcp::socket socket) mutable {
    self->on_accept(std::move(shard), ec, std::move(socket));
  });
}

void HttpListener::on_accept(std::shared_ptr<Shard> shard, boost::system::error_code ec,
                             tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopped_) return;
  if (ec) {
    // Typically out of file descriptors: back off instead of spinning.
    log::warn("http accept failed", {{"error", ec.message()}});
    auto& timer = *shard->retry_timer;
    timer.expires_after(std::chrono::milliseconds(100));
    timer.async_wait([self = shared_from_this(),
                      shard = std::move(shard)](boost::system::error_code wait_ec) mutable {
      if (!wait_ec) self->accept(std::move(shard));
    });
    return;
  }
  start_session(shard, std::move(socket));
  accept(std::move(shard));
}

void HttpListener::start_session(const std::shared_ptr<Shard>& shard, tcp::socket socket) {
  // Count first, then look at `draining`: drain() does the opposite, so a
  // connection accepted while drain starts is either seen by drain or refused.
  std::size_t now_open = ++open_;
  if (draining_ || now_open > options_.max_connections) {
    if (!draining_) rejected_.inc();
    boost::system::error_code ignored;
    socket.close(ignored);
    release_slot();
    return;
  }
  open_gauge_.add(1);
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  run_session(shared_from_this(), shard, std::move(socket));
}

void ConnectionSlot::enlist(std::weak_ptr<DrainableSession> session) {
  enlisted_ = shard_->sessions.insert(shard_->sessions.end(), std::move(session));
}

void ConnectionSlot::release() {
  if (enlisted_) {
    shard_->sessions.erase(*enlisted_);
    enlisted_.reset();
  }
  give_back();
}

void ConnectionSlot::give_back() {
  if (given_back_) return;
  given_back_ = true;
  listener_->session_closed();
}

void HttpListener::session_closed() {
  open_gauge_.add(-1);
  release_slot();
}

void HttpListener::release_slot() {
  if (--open_ == 0 && draining_) finish_drain();
}

void HttpListener::finish_drain() {
  std::function<void()> done;
  {
    std::lock_guard lock(drain_mutex_);
    done = std::move(drain_done_);
    drain_done_ = nullptr;
  }
  if (done && !stopped_) net::post(reactor_.context(0), std::move(done));
}

void HttpListener::drain(std::function<void()> done) {
  {
    std::lock_guard lock(drain_mutex_);
    drain_done_ = std::move(done);
  }
  draining_ = true;
  close_acceptors(true);
  if (open_ == 0) finish_drain();
}

void HttpListener::stop() {
  stopped_ = true;
  close_acceptors(false);
}

// Each shard's acceptor (and, when draining, its sessions) belongs to its
// reactor, so the closing is posted there.
void HttpListener::close_acceptors(bool drain_sessions) {
  for (auto& weak : shards_) {
    auto shard = weak.lock();
    if (!shard) continue;
    auto& context = shard->context;
    // The shard moves into the handler: it must be released on its reactor.
    net::post(context, [shard = std::move(shard), drain_sessions] {
      boost::system::error_code ignored;
      shard->acceptor->close(ignored);
      shard->retry_timer->cancel();
      if (!drain_sessions) return;
      // drain() may close a session, which unlinks it from the list.
      std::vector<std::shared_ptr<DrainableSession>> live;
      for (auto& session : shard->sessions) {
        if (auto alive = session.lock()) live.push_back(std::move(alive));
      }
      for (auto& session : live)
        session->drain();
    });
  }
}

}  // namespace hookd
