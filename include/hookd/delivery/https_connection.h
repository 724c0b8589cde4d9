// HttpsConnection: one keep-alive connection of an HttpsClient pool, in the
// style of the Beast client examples: resolve, connect, TLS handshake, then
// any number of sequential exchanges, each bounded as a whole by the
// client's timeout. Runs on the pool's strand. Included only by the
// client's own sources.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hookd/core/metrics.h"
#include "hookd/core/result.h"
#include "hookd/delivery/https_client.h"
#include "hookd/delivery/https_messages.h"

namespace boost::asio::ssl {
class context;
}

namespace hookd {

using HttpsStrand = boost::asio::strand<boost::asio::io_context::executor_type>;

// What every connection of one client shares; immutable after create().
struct HttpsPoolContext {
  HttpsClientOptions options;
  Origin origin;
  std::unique_ptr<boost::asio::ssl::context> tls;  // null for http://
  std::string endpoint;                            // metrics label
  Counter* connects = nullptr;
  Counter* stale_retries = nullptr;
  Counter* truncated = nullptr;
  Counter* requests = nullptr;
  Histogram* handshake_seconds = nullptr;
  Gauge* open_connections = nullptr;
  Gauge* queued = nullptr;

  HttpsPoolContext();
  ~HttpsPoolContext();
  // hookd_https_client_errors_total{category=...}
  void count_error(std::string_view category) const;
};

// One request waiting for, or on, a connection.
struct HttpsJob {
  BeastRequest request;
  bool head = false;  // a HEAD response has no body to read
  std::function<void(Result<IncomingResponse>)> done;
};

class HttpsConnection {
 public:
  // Runs when an exchange ends, before the job's own callback, so the pool
  // can hand the connection the next job at once.
  using Finish = std::function<void(std::shared_ptr<HttpsConnection>, bool reusable)>;

  static std::shared_ptr<HttpsConnection> create(HttpsStrand strand,
                                                 std::shared_ptr<const HttpsPoolContext> pool);
  virtual ~HttpsConnection() = default;

  // Sends the job on this connection (reconnecting when it is closed or was
  // idle too long), then calls `finish` and the job's `done`.
  virtual void run(HttpsJob job, Finish finish) = 0;
};

}  // namespace hookd
