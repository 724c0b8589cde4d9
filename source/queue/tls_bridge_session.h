// TlsBridgeSession: one hiredis connection accepted on the TLS bridge's Unix
// socket, carried to the Redis server over TLS: resolve, connect, handshake
// (within the connect timeout), then bytes both ways, each write within the
// write timeout. Reads wait as long as they need (a Redis connection may be
// idle; hiredis has its own answer timeout and closes its side). Any error
// ends both sides through fail(). hiredis writes with write(2), so a socket
// closed under it would raise SIGPIPE: the bridge only shuts its sending
// side and reads until hiredis, seeing the end, closes its own. Not
// thread-safe: the bridge's io_context only. Private to source/queue.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace hookd {

struct BridgeTarget {
  std::string host;
  std::string port;
  bool host_is_ip = false;
  std::string ca;  // for messages: the bundle's path, or "the system CAs"
  std::chrono::milliseconds connect_timeout{2500};
  std::chrono::milliseconds write_timeout{5000};
};

// What sessions tell the bridge about the server: the last failure, logged
// once per distinct reason, cleared by the next session that gets through.
// Thread-safe.
class BridgeReport {
 public:
  explicit BridgeReport(std::string url) : url_(std::move(url)) {}
  void failed(const std::string& why);
  void connected();
  std::string problem() const;

 private:
  const std::string url_;
  mutable std::mutex mutex_;
  std::string problem_;
  bool ever_connected_ = false;
};

class TlsBridgeSession : public std::enable_shared_from_this<TlsBridgeSession> {
 public:
  TlsBridgeSession(boost::asio::local::stream_protocol::socket local,
                   boost::asio::ssl::context& context, const BridgeTarget& target,
                   std::shared_ptr<BridgeReport> report);

  void start();

 private:
  void on_resolve(const boost::system::error_code& ec,
                  const boost::asio::ip::tcp::resolver::results_type& results);
  void on_connect(const boost::system::error_code& ec);
  void on_handshake(const boost::system::error_code& ec);
  using Buffer = std::array<char, 16384>;
  // Bytes from one side to the other, one buffer at a time: hiredis ->
  // Redis and Redis -> hiredis each run one.
  template <class From, class To>
  void relay(From& from, To& to, Buffer& buffer, boost::asio::steady_timer& deadline,
             const char* reads, const char* writes);
  void arm_write_deadline(boost::asio::steady_timer& timer, const char* what);
  // After fail(): discards what hiredis still sends until it closes (or the
  // drain limit passes), then closes the socket.
  void drain_local();
  // Ends both sides once; a failure on the server's side (or before the
  // relay began) is the bridge's problem, the hiredis side closing is not.
  void fail(const boost::system::error_code& ec, const char* what);

  boost::asio::local::stream_protocol::socket local_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer deadline_;  // connect + handshake, then the drain
  boost::asio::steady_timer up_deadline_;
  boost::asio::steady_timer down_deadline_;
  const BridgeTarget& target_;
  std::shared_ptr<BridgeReport> report_;
  Buffer up_{};    // hiredis -> Redis
  Buffer down_{};  // Redis -> hiredis
  bool relaying_ = false;
  bool reading_local_ = false;
  bool ended_ = false;
};

}  // namespace hookd
