#include "hookd/delivery/syslog_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>

#include "hookd/core/log.h"
#include "hookd/delivery/https_tls.h"
#include "hookd/delivery/tcp_send_progress.h"

namespace hookd {

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

// How often the kernel is asked how far the receiver has acknowledged.
constexpr auto kAckPoll = std::chrono::milliseconds(20);

class Connection final : public SyslogConnection, public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, std::shared_ptr<const SyslogPeer> peer)
      : io_(io), peer_(std::move(peer)), resolver_(io), deadline_(io), ack_timer_(io) {}
  ~Connection() override { close_socket(); }

  void send(std::string frames, Transport::Done done) override {
    if (failed_) return done(failure(error_));
    Item item;
    item.frames = std::make_shared<const std::string>(std::move(frames));
    item.done = std::move(done);
    items_.push_back(std::move(item));
    if (state_ == State::idle) return start();
    if (state_ == State::open) write_next();
  }

  bool failed() const override { return failed_; }

  void close() override { fail("closed: hookd is stopping"); }

 private:
  enum class State { idle, connecting, open };

  // One batch: queued, being written, or written and waiting to be confirmed.
  struct Item {
    // Shared with the write in progress, which may outlive the item when
    // the connection fails under it.
    std::shared_ptr<const std::string> frames;
    Transport::Done done;
    bool writing = false;
    bool written = false;
    Clock::time_point write_started{};
    // The kernel's count of bytes handed over once this batch was written;
    // nullopt: unknown, so it is acknowledged when nothing is left queued.
    std::optional<std::uint64_t> end_mark;
    std::optional<Clock::time_point> acked_at;
  };

  static AttemptOutcome failure(const std::string& error) {
    AttemptOutcome outcome;
    outcome.error = error;
    return outcome;
  }

  std::string authority() const {
    return (peer_->host.find(':') != std::string::npos ? "[" + peer_->host + "]" : peer_->host) +
           ":" + std::to_string(peer_->port);
  }

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  // ---- connecting: resolve, connect, handshake, all within the timeout ----

  void start() {
    state_ = State::connecting;
    if (peer_->tls) {
      tls_ = std::make_unique<ssl::stream<tcp::socket>>(io_, *peer_->tls);
    } else {
      plain_ = std::make_unique<tcp::socket>(io_);
    }
    deadline_.expires_after(peer_->timeout);
    deadline_.async_wait([self = shared_from_this()](ErrorCode ec) {
      if (ec || self->state_ == State::open) return;
      self->fail("timeout: connecting to " + self->authority() + " took longer than " +
                 std::to_string(self->peer_->timeout.count()) + "ms");
    });
    if (peer_->host_is_ip) {
      ErrorCode ec;
      auto address = asio::ip::make_address(peer_->host, ec);
      if (ec) return fail_ec(ec, "connect");
      return connect({tcp::endpoint(address, peer_->port)});
    }
    resolver_.async_resolve(
        peer_->host, std::to_string(peer_->port),
        [self = shared_from_this()](ErrorCode ec, const tcp::resolver::results_type& results) {
          if (ec) return self->fail_ec(ec, "connect");
          std::vector<tcp::endpoint> endpoints;
          for (const auto& entry : results)
            endpoints.push_back(entry.endpoint());
          self->connect(std::move(endpoints));
        });
  }

  void connect(std::vector<tcp::endpoint> endpoints) {
    if (failed_) return;
    asio::async_connect(
        socket(), endpoints,
        [self = shared_from_this()](ErrorCode ec, const tcp::endpoint&) { self->on_connect(ec); });
  }

  void on_connect(ErrorCode ec) {
    if (failed_) return;
    if (ec) return fail_ec(ec, "connect");
    ErrorCode ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return opened();
    Origin origin;
    origin.host = peer_->host;
    origin.host_is_ip = peer_->host_is_ip;
    if (!expect_peer(tls_->native_handle(), origin)) {
      return fail("tls: cannot set the expected host name " + peer_->host);
    }
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](ErrorCode ec) { self->on_handshake(ec); });
  }

  void on_handshake(ErrorCode ec) {
    if (failed_) return;
    if (ec) {
      const long verify = SSL_get_verify_result(tls_->native_handle());
      if (verify != X509_V_OK) {
        return fail("tls: certificate verify failed for " + authority() + ": " +
                    X509_verify_cert_error_string(verify));
      }
      return fail_ec(ec, "tls");
    }
    opened();
  }

  void opened() {
    state_ = State::open;
    deadline_.cancel();
    log::debug("syslog connected", {{"endpoint", peer_->endpoint}, {"peer", authority()}});
    watch_for_close();
    write_next();
  }

  // ---- the open connection ----

  // Receivers send nothing (RFC 5425, RFC 6587), so this read only ends when
  // the receiver closes or resets the connection. It has no deadline of its
  // own on purpose: it stays pending for the life of the connection, and the
  // acknowledgement deadline below bounds every batch instead.
  void watch_for_close() {
    auto handler = [self = shared_from_this()](ErrorCode ec, std::size_t) {
      if (self->failed_) return;
      if (ec) return self->fail_ec(ec, "connection lost");
      self->watch_for_close();  // unexpected bytes: dropped
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(discard_), std::move(handler));
    } else {
      plain_->async_read_some(asio::buffer(discard_), std::move(handler));
    }
  }

  void write_next() {
    if (failed_ || writing_) return;
    Item* next = nullptr;
    for (auto& item : items_) {
      if (!item.written) {
        next = &item;
        break;
      }
    }
    if (!next) return;
    writing_ = true;
    next->writing = true;
    next->write_started = Clock::now();
    arm_ack_timer();  // the acknowledgement deadline covers a write stuck on a full buffer
    auto handler = [self = shared_from_this(), frames = next->frames](ErrorCode ec, std::size_t) {
      self->on_write(ec);
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(*next->frames), std::move(handler));
    } else {
      asio::async_write(*plain_, asio::buffer(*next->frames), std::move(handler));
    }
  }

  void on_write(ErrorCode ec) {
    writing_ = false;
    if (failed_) return;
    if (ec) return fail_ec(ec, "connection lost");
    for (auto& item : items_) {
      if (item.writing) {
        item.writing = false;
        item.written = true;
        if (auto progress = tcp_send_progress(socket().native_handle())) {
          item.end_mark = progress->handed;
        }
        break;
      }
    }
    write_next();
  }

  void arm_ack_timer() {
    if (ack_timer_armed_) return;
    ack_timer_armed_ = true;
    ack_timer_.expires_after(kAckPoll);
    ack_timer_.async_wait([self = shared_from_this()](ErrorCode ec) {
      self->ack_timer_armed_ = false;
      if (!ec && !self->failed_) self->check_acks();
    });
  }

  // Marks what the receiver's TCP has acknowledged, confirms what stayed up
  // for `settle` after that, and ends a connection that acknowledges too slowly.
  void check_acks() {
    const Clock::time_point now = Clock::now();
    auto progress = tcp_send_progress(socket().native_handle());
    for (auto& item : items_) {
      if (!item.written) break;
      if (item.acked_at) continue;
      const bool acked = progress && (item.end_mark ? progress->acked >= *item.end_mark
                                                    : progress->acked == progress->handed);
      if (!acked) break;
      item.acked_at = now;
    }
    while (!items_.empty() && items_.front().acked_at &&
           now - *items_.front().acked_at >= peer_->settle) {
      Transport::Done done = std::move(items_.front().done);
      items_.pop_front();
      AttemptOutcome delivered;
      delivered.accepted = true;
      done(delivered);
      if (failed_) return;
    }
    for (const auto& item : items_) {
      if (item.acked_at) continue;
      if ((item.written || item.writing) && now - item.write_started >= peer_->timeout) {
        return fail("timeout: " + authority() + " did not acknowledge a batch within " +
                    std::to_string(peer_->timeout.count()) + "ms");
      }
      break;
    }
    if (!items_.empty()) arm_ack_timer();
  }

  // ---- failure: everything not confirmed goes back to be retried ----

  void fail_ec(ErrorCode ec, const std::string& what) {
    fail(what + ": " + authority() + ": " + ec.message());
  }

  void fail(const std::string& error) {
    if (failed_) return;
    failed_ = true;
    error_ = error;
    log::debug("syslog connection failed", {{"endpoint", peer_->endpoint}, {"error", error}});
    deadline_.cancel();
    ack_timer_.cancel();
    resolver_.cancel();
    close_socket();
    std::deque<Item> pending = std::move(items_);
    items_.clear();
    for (auto& item : pending)
      item.done(failure(error));
  }

  void close_socket() {
    ErrorCode ignored;
    if (tls_) tls_->next_layer().close(ignored);
    if (plain_) plain_->close(ignored);
  }

  asio::io_context& io_;
  const std::shared_ptr<const SyslogPeer> peer_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  asio::steady_timer ack_timer_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
  std::unique_ptr<tcp::socket> plain_;
  std::array<char, 512> discard_{};
  std::deque<Item> items_;
  State state_ = State::idle;
  bool writing_ = false;
  bool ack_timer_armed_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace

std::shared_ptr<SyslogConnection> SyslogConnection::create(asio::io_context& io,
                                                           std::shared_ptr<const SyslogPeer> peer) {
  return std::make_shared<Connection>(io, std::move(peer));
}

}  // namespace hookd
