// The test support itself: the HTTP client's deadlines against a peer that
// accepts and then stays silent, and the skip probe the ctest guards in
// test/CMakeLists.txt run.
#include "support/support.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "support/skip.h"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A listener on 127.0.0.1 whose accepted connections are held open and
// never read from or written to.
class SilentPeer {
 public:
  SilentPeer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  // The client's connect has completed in the kernel's backlog already.
  void accept() { peers_.push_back(acceptor_.accept()); }
  // Closing ends a client call that is still waiting, so a failed check
  // does not leave the test blocked on it.
  void close() { peers_.clear(); }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> peers_;
};

// Declared after the future holding a client call: closes the peer first.
struct CloseOnExit {
  SilentPeer& peer;
  ~CloseOnExit() { peer.close(); }
};

// One request, with a 1 s client timeout, to a peer that accepts it and
// stays silent: the reply, or nullopt when the call has not returned after
// 20 s. The bound is generous: what matters is that the call returns at all.
std::optional<hookd::test::Reply> ask_silent_peer(const std::string& method,
                                                  const std::string& body) {
  SilentPeer peer;
  hookd::test::HttpConnection connection(peer.port(), 1s);
  REQUIRE(connection.is_open());
  peer.accept();
  auto reply =
      std::async(std::launch::async, [&] { return connection.request(method, "/", body); });
  CloseOnExit closer{peer};
  if (reply.wait_for(20s) != std::future_status::ready) return std::nullopt;
  CHECK_FALSE(connection.is_open());
  return reply.get();
}

}  // namespace

TEST_CASE("HttpConnection fails a request a silent server never answers", "[support]") {
  auto reply = ask_silent_peer("GET", "");
  REQUIRE(reply);
  INFO(reply->body);
  CHECK(reply->status == 0);
  CHECK(reply->body.find("timeout") != std::string::npos);
}

TEST_CASE("HttpConnection fails a write a server never reads", "[support]") {
  // Far more than the loopback socket buffers hold, so the write blocks.
  auto reply = ask_silent_peer("POST", std::string(64 << 20, 'x'));
  REQUIRE(reply);
  INFO(reply->body);
  CHECK(reply->status == 0);
  CHECK(reply->body.find("timeout") != std::string::npos);
}

TEST_CASE("HttpConnection to a port nobody listens on fails at once", "[support]") {
  hookd::test::HttpConnection connection(hookd::test::free_port(), 1s);
  CHECK_FALSE(connection.is_open());
  CHECK(connection.request("GET", "/").status == 0);
}

// Run only by the ctest guard harness/a-skipped-case-exits-with-the-skip-code
// (hidden: no ctest entry of its own).
TEST_CASE("a skipped case makes the binary exit with the skip code", "[.skip-probe]") {
  HOOKD_SKIP("the probe for the skip exit code");
}
