#include "hookd/queue/redis_tls_bridge.h"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "hookd/core/log.h"
#include "hookd/core/private_dir.h"
#include "tls_bridge_session.h"

namespace hookd {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;
using local_socket = asio::local::stream_protocol;

fs::path redis_tls_socket_path(const fs::path& socket_dir) {
  return socket_dir / "redis.sock";
}

namespace {

// Only hookd's own user gets through, even if the directory's mode were
// changed under it.
bool peer_is_us(local_socket::socket& socket) {
  ucred peer{};
  socklen_t size = sizeof peer;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
    return false;
  }
  return peer.uid == ::geteuid();
}

Result<std::unique_ptr<ssl::context>> client_context(const std::string& ca_file) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return make_error("--queue-ca: this OpenSSL cannot require TLS 1.2");
  }
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) {
      return make_error(
          "--queue: rediss:// without --queue-ca: cannot load the system's CA "
          "certificates: " +
          ec.message());
    }
  } else {
    context->load_verify_file(ca_file, ec);
    if (ec) return make_error("--queue-ca: cannot load " + ca_file + ": " + ec.message());
  }
  return context;
}

Status check_socket_path(const std::string& path) {
  if (path.size() <= kMaxUnixSocketPath) return Ok{};
  return make_error("--data-dir: the rediss:// TLS bridge's socket " + path + " is longer than " +
                    std::to_string(kMaxUnixSocketPath) + " bytes: use a shorter data dir");
}

}  // namespace

Status check_redis_tls_options(const RedisTlsOptions& options) {
  if (auto context = client_context(options.ca_file); !context) return context.error();
  return check_socket_path(redis_tls_socket_path(options.socket_dir).string());
}

struct RedisTlsBridge::State {
  State(BridgeTarget t, std::unique_ptr<ssl::context> c, std::string url)
      : work(asio::make_work_guard(io)),
        target(std::move(t)),
        context(std::move(c)),
        report(std::make_shared<BridgeReport>(std::move(url))),
        acceptor(io) {}

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  BridgeTarget target;
  std::unique_ptr<ssl::context> context;
  std::shared_ptr<BridgeReport> report;
  local_socket::acceptor acceptor;
  std::string path;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, local_socket::socket peer) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        log::warn("redis TLS bridge: accept failed", {{"error", ec.message()}});
      } else if (!peer_is_us(peer)) {
        log::warn("redis TLS bridge: a connection from another user was refused");
      } else {
        std::make_shared<TlsBridgeSession>(std::move(peer), *context, target, report)->start();
      }
      accept();
    });
  }
};

Result<std::shared_ptr<RedisTlsBridge>> RedisTlsBridge::open(const RedisUrl& url,
                                                             RedisTlsOptions options) {
  auto context = client_context(options.ca_file);
  if (!context) return context.error();
  BridgeTarget target;
  target.host = url.host;
  target.port = std::to_string(url.port);
  boost::system::error_code not_ip;
  asio::ip::make_address(url.host, not_ip);
  target.host_is_ip = !not_ip;
  target.ca = options.ca_file.empty() ? "the system's CAs" : options.ca_file;
  target.connect_timeout = options.connect_timeout;
  target.write_timeout = options.write_timeout;

  std::string path = redis_tls_socket_path(options.socket_dir).string();
  if (auto fits = check_socket_path(path); !fits) return fits.error();
  if (auto dir = make_private_dir(options.socket_dir); !dir) return dir.error();
  // A socket left by an earlier life of this data dir (whose lock we hold).
  std::error_code ignored;
  fs::remove(path, ignored);

  auto state =
      std::make_shared<State>(std::move(target), std::move(context).value(), url.describe());
  state->path = path;
  boost::system::error_code ec;
  state->acceptor.open(local_socket(), ec);
  if (!ec) state->acceptor.bind(local_socket::endpoint(path), ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("rediss://: cannot listen on " + path + ": " + ec.message());
  State* s = state.get();
  asio::post(s->io, [s] { s->accept(); });
  s->thread = std::thread([s] { s->io.run(); });
  return std::shared_ptr<RedisTlsBridge>(new RedisTlsBridge(std::move(state)));
}

RedisTlsBridge::RedisTlsBridge(std::shared_ptr<State> state) : state_(std::move(state)) {}

RedisTlsBridge::~RedisTlsBridge() {
  State* s = state_.get();
  // Sessions still open end with the io_context: hiredis sees its socket close.
  asio::post(s->io, [s] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    s->work.reset();
    s->io.stop();
  });
  s->thread.join();
  std::error_code ignored;
  fs::remove(s->path, ignored);
}

const std::string& RedisTlsBridge::socket_path() const {
  return state_->path;
}

std::string RedisTlsBridge::problem() const {
  return state_->report->problem();
}

}  // namespace hookd
