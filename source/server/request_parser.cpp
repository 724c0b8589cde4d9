#include "request_parser.h"

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/url/parse.hpp>
#include <cstdint>

namespace hookd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

namespace {

// A body buffer up to this size is kept for the connection's next request.
constexpr std::size_t kKeepBodyBytes = 64 * 1024;

// One past the empty line that ends the header (CRLF CRLF; bare LF ones
// too, so that the parser rejects them now), searching from `from`.
std::size_t header_end(std::string_view data, std::size_t from) {
  for (std::size_t lf = data.find('\n', from); lf != std::string_view::npos;
       lf = data.find('\n', lf + 1)) {
    if (lf + 1 < data.size() && data[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < data.size() && data[lf + 1] == '\r' && data[lf + 2] == '\n') return lf + 3;
  }
  return std::string_view::npos;
}

}  // namespace

void RequestParser::begin(std::string& body) {
  reset();
  // A large body's buffer is not kept for the connection's next requests.
  body.clear();
  if (body.capacity() > kKeepBodyBytes) std::string().swap(body);
  request_.body.clear();
  if (request_.body.capacity() > kKeepBodyBytes) std::string().swap(request_.body);
  parser_.emplace(request_);
  parser_->body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
  // Only a second guard: Beast counts the bytes it has not parsed yet, and
  // not the request line. scan_header() enforces the limit on the block.
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_bytes, UINT32_MAX)));
  // The header alone first: its framing is checked before any body byte is
  // parsed (parse_body_buffered() turns eager parsing on).
  parser_->eager(false);
  header_scanned_ = 0;
}

std::string_view RequestParser::buffered() const {
  return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
}

// The parser gets the header only once all of it is buffered: Beast forgets
// the fields it parsed from an earlier read, so fed piecemeal it would let a
// header grow to about twice max_header_bytes.
RequestParser::HeaderScan RequestParser::scan_header() {
  std::string_view data = buffered();
  std::size_t end = header_end(data, header_scanned_);
  if (end == std::string_view::npos) {
    if (data.size() >= options_.max_header_bytes) return HeaderScan::too_big;
    // The blank line may straddle this read and the next one.
    header_scanned_ = data.size() >= 2 ? data.size() - 2 : 0;
    return HeaderScan::incomplete;
  }
  return end > options_.max_header_bytes ? HeaderScan::too_big : HeaderScan::complete;
}

RequestParser::error_code RequestParser::parse_header() {
  error_code ec;
  buffer_.consume(parser_->put(buffer_.data(), ec));
  if (ec == http::error::need_more) ec = {};
  return ec;
}

// RFC 9112 section 6: a Transfer-Encoding that does not end in chunked, one
// in an HTTP/1.0 request, or one next to a Content-Length leaves the body's
// length open to interpretation; reading on would let a proxy that frames
// the request differently smuggle a second request in its body. Beast
// reads such a request as bodiless. Answered with 400 and the connection
// closes; so is a coding before chunked, which hookd does not decode (RFC
// 9112 suggests 501, but bad input gets a 4xx here).
std::pair<int, std::string_view> RequestParser::framing_problem() const {
  if (!request_.transfer_encoding) return {0, {}};
  if (request_.version < 11) return {400, "Transfer-Encoding in an HTTP/1.0 request"};
  if (request_.content_length) return {400, "both Transfer-Encoding and Content-Length"};
  if (!parser_->chunked()) return {400, "Transfer-Encoding does not end in chunked"};
  if (request_.other_coding) return {400, "transfer codings other than chunked are not supported"};
  return {0, {}};
}

RequestParser::error_code RequestParser::parse_body_buffered() {
  parser_->eager(true);
  return parse_buffered();
}

RequestParser::error_code RequestParser::parse_buffered() {
  error_code ec;
  while (buffer_.size() > 0 && !parser_->is_done()) {
    std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec || used == 0) break;
  }
  if (ec == http::error::need_more) ec = {};
  return ec;
}

bool RequestParser::expects_continue() const {
  return request_.expects_continue();
}

RequestFacts RequestParser::facts() const {
  RequestFacts facts;
  if (!header_done()) return facts;
  facts.version = request_.version;
  facts.keep_alive = request_.keep_alive();
  facts.head = request_.method == http::verb::head;
  facts.method_label = method_label(request_.method);
  return facts;
}

std::string RequestParser::header_route(const Router& router) const {
  if (!header_done()) return {};
  auto url = boost::urls::parse_uri_reference(request_.target);
  if (!url) return {};
  return std::string(router.match(request_.method_string, url->path()));
}

ReadFailure classify_read_error(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted) {
    return ReadFailure::closed;
  }
  if (ec == beast::error::timeout) return ReadFailure::timeout;
  if (ec == http::error::body_limit) return ReadFailure::body_limit;
  if (ec == http::error::header_limit) return ReadFailure::header_limit;
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category() ||
      ec == http::error::partial_message) {
    return ReadFailure::malformed;
  }
  if (ec.category() == net::error::get_ssl_category() || ec == net::ssl::error::stream_truncated) {
    return ReadFailure::tls;
  }
  return ReadFailure::other;
}

}  // namespace hookd
