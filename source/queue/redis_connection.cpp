#include "redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "asio_redis_events.h"
#include "hookd/core/log.h"
#include "hookd/queue/redis_tls_bridge.h"

namespace hookd {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};
constexpr std::chrono::milliseconds kConnectTimeout{3000};

}  // namespace

struct RedisConnection::State : std::enable_shared_from_this<RedisConnection::State> {
  State(asio::io_context& io, RedisUrl u, std::shared_ptr<RedisTlsBridge> bridge, std::string n,
        std::chrono::milliseconds timeout)
      : io(io),
        url(std::move(u)),
        tls_bridge(std::move(bridge)),
        name(std::move(n)),
        answer_timeout(timeout),
        retry_timer(io),
        watchdog(io) {}

  asio::io_context& io;
  RedisUrl url;
  std::shared_ptr<RedisTlsBridge> tls_bridge;
  std::string name;
  std::chrono::milliseconds answer_timeout;
  asio::steady_timer retry_timer;
  asio::steady_timer watchdog;
  redisAsyncContext* context = nullptr;
  bool is_ready = false;
  bool stopped = true;
  std::string why = "not connected yet";
  std::chrono::milliseconds backoff = kFirstBackoff;
  std::size_t outstanding = 0;
  Clock::time_point progress = Clock::now();
  Clock::time_point connect_started = Clock::now();
  std::function<void()> ready_listener;
  std::function<void(const std::string&)> lost_listener;

  struct Pending {
    std::weak_ptr<State> state;
    ReplyHandler handler;
  };

  static State* of(const redisAsyncContext* c) { return static_cast<State*>(c->data); }

  static void on_reply(redisAsyncContext*, void* r, void* privdata) {
    std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
    if (auto state = pending->state.lock()) {
      if (state->outstanding > 0) --state->outstanding;
      state->progress = Clock::now();
    }
    if (pending->handler) pending->handler(static_cast<const redisReply*>(r));
  }

  static void on_connect(const redisAsyncContext* c, int status) {
    State* state = of(c);
    if (state == nullptr) return;
    if (status != REDIS_OK) {
      // hiredis frees the context once this returns.
      state->context = nullptr;
      state->lost(
          state->with_bridge_reason(std::string("connect: ") + (c->errstr ? c->errstr : "failed")));
      return;
    }
    state->handshake();
  }

  static void on_disconnect(const redisAsyncContext* c, int) {
    State* state = of(c);
    if (state == nullptr) return;
    state->context = nullptr;
    state->lost(state->with_bridge_reason(c->err ? std::string("connection lost: ") +
                                                       (c->errstr ? c->errstr : "")
                                                 : std::string("disconnected")));
  }

  // hiredis only sees the bridge's socket close; the bridge knows why.
  std::string with_bridge_reason(std::string reason) const {
    if (!tls_bridge) return reason;
    std::string problem = tls_bridge->problem();
    return problem.empty() ? reason : "tls: " + problem;
  }

  bool raw_send(const std::vector<std::string>& args, ReplyHandler handler) {
    if (context == nullptr) return false;
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* pending = new Pending{weak_from_this(), std::move(handler)};
    if (redisAsyncCommandArgv(context, on_reply, pending, static_cast<int>(argv.size()),
                              argv.data(), lengths.data()) != REDIS_OK) {
      delete pending;
      return false;
    }
    if (outstanding++ == 0) progress = Clock::now();
    return true;
  }

  void connect() {
    if (stopped || context != nullptr) return;
    connect_started = Clock::now();
    // Resolving a host name blocks: this runs on the queue's own thread,
    // never on a reactor.
    redisAsyncContext* c = tls_bridge ? redisAsyncConnectUnix(tls_bridge->socket_path().c_str())
                                      : redisAsyncConnect(url.host.c_str(), url.port);
    if (c == nullptr || c->err) {
      std::string error = c && c->errstr ? c->errstr : "out of memory";
      if (c) redisAsyncFree(c);
      lost("connect: " + error);
      return;
    }
    c->data = this;
    attach_to_asio(c, io);
    redisAsyncSetConnectCallback(c, on_connect);
    redisAsyncSetDisconnectCallback(c, on_disconnect);
    context = c;
    outstanding = 0;
    arm_watchdog();
  }

  // AUTH and SELECT, then a PING whose answer means every earlier step passed.
  void handshake() {
    auto self = shared_from_this();
    auto failed = std::make_shared<std::string>();
    auto check = [self, failed](const char* step) {
      return [self, failed, step](const redisReply* r) {
        if (r == nullptr || !failed->empty()) return;
        if (reply_is_error(r)) *failed = std::string(step) + ": " + reply_text(r);
      };
    };
    if (!url.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!url.user.empty()) auth.push_back(url.user);
      auth.push_back(url.password);
      raw_send(auth, check("AUTH"));
    }
    if (url.db != 0) raw_send({"SELECT", std::to_string(url.db)}, check("SELECT"));
    raw_send({"PING"}, [self, failed](const redisReply* r) {
      if (r == nullptr) return;
      if (!failed->empty() || reply_is_error(r)) {
        std::string why = failed->empty() ? "PING: " + reply_text(r) : *failed;
        asio::post(self->io, [self, why] { self->drop(why); });
        return;
      }
      self->is_ready = true;
      self->why.clear();
      self->backoff = kFirstBackoff;
      log::info("redis connected", {{"connection", self->name}, {"url", self->url.describe()}});
      if (self->ready_listener) self->ready_listener();
    });
  }

  // Called from hiredis callbacks: the reconnect is posted, never inline.
  void lost(const std::string& reason) {
    is_ready = false;
    if (why != reason && !stopped) {
      log::warn("redis unavailable", {{"connection", name}, {"reason", reason}});
    }
    why = reason;
    if (lost_listener) lost_listener(reason);
    if (stopped) return;
    retry_timer.expires_after(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
    retry_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec) self->connect();
    });
  }

  void drop(const std::string& reason) {
    redisAsyncContext* c = context;
    if (c == nullptr) return;
    // Our own free: the disconnect callback must not report a second reason.
    c->data = nullptr;
    context = nullptr;
    redisAsyncFree(c);  // pending handlers run with nullptr
    lost(reason);
  }

  void arm_watchdog() {
    watchdog.expires_after(std::chrono::milliseconds(500));
    watchdog.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopped || self->context == nullptr) return;
      auto now = Clock::now();
      if (!self->is_ready && now - self->connect_started > kConnectTimeout) {
        self->drop("connect: no answer within " + std::to_string(kConnectTimeout.count()) + "ms");
        return;
      }
      if (self->outstanding > 0 && now - self->progress > self->answer_timeout) {
        self->drop("no answer within " + std::to_string(self->answer_timeout.count()) + "ms");
        return;
      }
      self->arm_watchdog();
    });
  }
};

RedisConnection::RedisConnection(asio::io_context& io, RedisUrl url,
                                 std::shared_ptr<RedisTlsBridge> tls_bridge, std::string name,
                                 std::chrono::milliseconds answer_timeout)
    : state_(std::make_shared<State>(io, std::move(url), std::move(tls_bridge), std::move(name),
                                     answer_timeout)) {}

RedisConnection::~RedisConnection() {
  stop();
}

void RedisConnection::on_ready(std::function<void()> ready) {
  state_->ready_listener = std::move(ready);
}

void RedisConnection::on_lost(std::function<void(const std::string&)> lost) {
  state_->lost_listener = std::move(lost);
}

void RedisConnection::start() {
  state_->stopped = false;
  state_->connect();
}

void RedisConnection::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->retry_timer.cancel();
  state_->watchdog.cancel();
  state_->drop("stopped");
}

bool RedisConnection::ready() const {
  return state_->is_ready;
}

std::string RedisConnection::problem() const {
  return state_->is_ready ? "" : state_->why;
}

bool RedisConnection::send(const std::vector<std::string>& args, ReplyHandler handler) {
  if (!state_->is_ready) return false;
  return state_->raw_send(args, std::move(handler));
}

void RedisConnection::reset(const std::string& why) {
  auto state = state_;
  asio::post(state->io, [state, why] { state->drop(why); });
}

std::string reply_text(const redisReply* reply) {
  if (reply == nullptr) return {};
  if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING ||
      reply->type == REDIS_REPLY_ERROR) {
    return std::string(reply->str, reply->len);
  }
  return {};
}

bool reply_is_error(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR;
}

}  // namespace hookd
