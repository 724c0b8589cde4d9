// HttpsClient: a keep-alive connection pool to one origin (https:// or
// http://) over Beast + OpenSSL: SNI, certificate and host-name verification
// (system CAs or a given bundle), TLS 1.2+, optional client certificate.
// Requests beyond the pool size wait in order. Redirects are not followed.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/result.h"

namespace boost::asio {
class io_context;
}

namespace hookd {

struct OutgoingRequest {
  std::string method = "POST";
  std::string target;  // path + query; empty means the origin URL's own target
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct IncomingResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;  // truncated to 64 KiB: only for logs and errors
  std::string header(std::string_view name) const;
};

struct HttpsClientOptions {
  std::string url;        // https://host[:port]/path or http://...
  std::string ca_file;    // empty: system default verify paths
  std::string cert_file;  // mTLS client certificate (PEM), with key_file
  std::string key_file;
  std::chrono::milliseconds timeout{15000};  // connect + TLS + request + response
  std::size_t connections = 4;
  std::string user_agent;  // set on every request when non-empty
  // Value of the `endpoint` label on this client's metrics (the endpoint
  // name); empty: "host:port".
  std::string metrics_label;
  // A keep-alive connection idle longer than this is not reused (servers
  // close idle connections; reconnecting first avoids the race).
  std::chrono::milliseconds idle_timeout{30000};
};

class HttpsClient {
 public:
  // Validates the URL and loads certificates; the error names what is wrong.
  static Result<std::shared_ptr<HttpsClient>> create(boost::asio::io_context& io,
                                                     HttpsClientOptions options);
  virtual ~HttpsClient() = default;

  // `done` runs on the client's io_context. Transport errors (refused,
  // timeout, TLS verification) come back as Error; any HTTP status is a value.
  virtual void send(OutgoingRequest request,
                    std::function<void(Result<IncomingResponse>)> done) = 0;

  // Closes idle connections and fails queued requests; used on shutdown.
  virtual void close() = 0;
};

}  // namespace hookd
