// RequestParser: the requests of one connection, parsed from its read buffer
// with Beast's grammar into hookd's flat fields (RequestFieldParser), and
// the checks hookd makes before a request reaches a handler: the whole
// header block within max_header_bytes, framing that cannot smuggle a
// second request, the body limit. No I/O: the session reads
// into buffer() and calls the step that fits. Not thread-safe: one per
// connection, on its reactor.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "hookd/server/http_server.h"
#include "request_conversion.h"
#include "request_fields.h"

namespace hookd {

// What answering a request needs to know of it, from its header.
struct RequestFacts {
  unsigned version = 11;
  bool keep_alive = false;
  bool head = false;
  std::string_view method_label = "other";  // static storage
};

class RequestParser {
 public:
  using Parser = RequestFieldParser;
  using error_code = boost::beast::error_code;
  enum class HeaderScan { incomplete, complete, too_big };

  // `options` must outlive the parser.
  explicit RequestParser(const HttpServerOptions& options) : options_(options) {}
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // The connection's read buffer. What one request leaves unparsed stays for
  // the next (pipelining).
  boost::beast::flat_buffer& buffer() { return buffer_; }

  // Starts the next request. `body` (the last request's, handled) is
  // emptied; the parsed request's strings keep their capacity (a body's up
  // to a limit) for this one.
  void begin(std::string& body);
  // Drops the current request (after to_http_request() or a refusal).
  void reset() { parser_.reset(); }

  // Whether the buffered bytes hold the whole header block, within the
  // limit; looks only at bytes it has not looked at before.
  HeaderScan scan_header();
  // Feeds the complete header to Beast. A malformed header is no error here
  // but leaves header_done() false.
  error_code parse_header();
  bool header_done() const { return parser_ && parser_->is_header_done(); }
  // {400, why} when the body's framing cannot be trusted, else {0, {}}.
  std::pair<int, std::string_view> framing_problem() const;
  // Parses what is buffered, the body too once the framing is checked;
  // running out of bytes is no error.
  error_code parse_body_buffered();
  error_code parse_buffered();
  bool done() const { return parser_->is_done(); }
  bool expects_continue() const;

  // Facts of the parsed header; the defaults without one.
  RequestFacts facts() const;
  // The route pattern of the parsed header; "" without a header or a route.
  std::string header_route(const Router& router) const;
  // The request; complete once done().
  ParsedRequest& message() { return request_; }
  // For Beast's asynchronous read of the rest of the body.
  Parser& parser() { return *parser_; }

 private:
  std::string_view buffered() const;

  const HttpServerOptions& options_;
  boost::beast::flat_buffer buffer_;
  ParsedRequest request_;  // declared before parser_, which fills it
  // Beast's parser cannot be reset: a new one per request (no allocation).
  std::optional<Parser> parser_;
  std::size_t header_scanned_ = 0;  // where scan_header() looks for the end next
};

// What a read or parse error means for the connection.
enum class ReadFailure {
  closed,        // the client went away: close quietly
  timeout,       // read_timeout ran out
  body_limit,    // 413
  header_limit,  // 431
  malformed,     // 400
  tls,           // a TLS failure (counted), then as `other`
  other,         // logged, closed
};
ReadFailure classify_read_error(boost::beast::error_code ec);

}  // namespace hookd
