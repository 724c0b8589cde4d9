// HttpListener: the state an HttpServer shares with its connections, and the
// accepting side: one acceptor per reactor on the same port (SO_REUSEPORT),
// the connection limit, and draining. Each Shard is touched only on its
// reactor's thread; the listener's counters and flags are atomic, so
// sessions on every reactor read them without locking.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "hookd/server/http_server.h"
#include "reply_inbox.h"
#include "request_metrics.h"

namespace boost::asio::ssl {
class context;
}

namespace hookd {

class Gauge;

// What the listener knows of a session: it can be told to drain.
class DrainableSession {
 public:
  virtual ~DrainableSession() = default;
  // Called on the session's reactor when the server starts draining.
  virtual void drain() = 0;
};

// Per-reactor state, touched only on that reactor's thread. Owned by the
// handlers and sessions of that reactor, so it (and its acceptor) goes away
// with them, never after its io_context.
struct Shard {
  explicit Shard(boost::asio::io_context& c)
      : context(c), replies(std::make_shared<ReplyInbox>(c)) {}
  boost::asio::io_context& context;
  std::shared_ptr<ReplyInbox> replies;  // answers from other threads
  std::optional<boost::asio::ip::tcp::acceptor> acceptor;
  std::optional<boost::asio::steady_timer> retry_timer;
  std::list<std::weak_ptr<DrainableSession>> sessions;
  RequestSeries series;  // cached per reactor: the registry lookup takes a lock
};

class HttpListener;

// A session's place in its shard's list (so drain can reach it) and in the
// listener's count of open connections, given back once.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<HttpListener> listener, std::shared_ptr<Shard> shard)
      : listener_(std::move(listener)), shard_(std::move(shard)) {}
  // May run on any thread (a session's last owner can be a responder dropped
  // by another one), so it gives back the count but leaves the list alone.
  ~ConnectionSlot() { give_back(); }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  // Both on the shard's reactor.
  void enlist(std::weak_ptr<DrainableSession> session);
  void release();

  HttpListener& listener() const { return *listener_; }
  Shard& shard() const { return *shard_; }

 private:
  void give_back();

  std::shared_ptr<HttpListener> listener_;
  std::shared_ptr<Shard> shard_;
  std::optional<std::list<std::weak_ptr<DrainableSession>>::iterator> enlisted_;
  bool given_back_ = false;
};

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  HttpListener(Reactor& reactor, HttpServerOptions options, Router router);

  Status start();
  void stop();
  void drain(std::function<void()> done);
  unsigned short port() const { return port_; }

  // For sessions.
  const HttpServerOptions& options() const { return options_; }
  const Router& router() const { return router_; }
  // The context new connections use (null: plain HTTP). A session keeps
  // the one it started with, so a reload never pulls it from under it.
  std::shared_ptr<boost::asio::ssl::context> tls() const;
  Status reload_tls();
  bool draining() const { return draining_; }
  RequestErrorCounters& errors() { return errors_; }

 private:
  friend class ConnectionSlot;
  // Once per session that start_session() let through.
  void session_closed();

  Status listen_on(Shard& shard, const boost::asio::ip::tcp::endpoint& endpoint);
  void accept(std::shared_ptr<Shard> shard);
  void on_accept(std::shared_ptr<Shard> shard, boost::system::error_code ec,
                 boost::asio::ip::tcp::socket socket);
  void start_session(const std::shared_ptr<Shard>& shard, boost::asio::ip::tcp::socket socket);
  void release_slot();
  void finish_drain();
  void close_acceptors(bool drain_sessions);
  Result<std::shared_ptr<boost::asio::ssl::context>> load_tls() const;

  Reactor& reactor_;
  const HttpServerOptions options_;
  const Router router_;
  mutable std::mutex tls_mutex_;  // tls_ is swapped by reload_tls() on any thread
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::vector<std::weak_ptr<Shard>> shards_;
  bool started_ = false;
  std::atomic<unsigned short> port_{0};
  std::atomic<std::size_t> open_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopped_{false};
  std::mutex drain_mutex_;
  std::function<void()> drain_done_;

  Gauge& open_gauge_;
  Counter& rejected_;
  RequestErrorCounters errors_;
};

}  // namespace hookd
