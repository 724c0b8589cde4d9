// The wire side of HttpsClient, without sockets: the origin a URL names, an
// OutgoingRequest as the Beast request sent to it, and a Beast response as
// the IncomingResponse handed back. Pure; thread-safe. Included only by the
// client's own sources (it brings in Beast).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "hookd/core/result.h"
#include "hookd/delivery/https_client.h"

namespace hookd {

struct Origin {
  bool tls = false;
  std::string host;  // IPv6 literals without brackets
  bool host_is_ip = false;
  std::uint16_t port = 0;
  std::string target;       // path + query, at least "/"
  std::string host_header;  // host[:port], IPv6 in brackets
  std::string authority;    // host:port, for messages and metrics
};

// http(s)://host[:port][/path][?query]; user info is refused (credentials
// belong in a header), as is any scheme but http and https.
Result<Origin> parse_origin(std::string_view url);

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// The request as sent to `origin`: Host and User-Agent set (a request header
// of the same name wins), Content-Length computed (framing headers in
// `request` are dropped). Errors for a method, target or header that would
// not be valid HTTP.
Result<BeastRequest> encode_request(OutgoingRequest request, const Origin& origin,
                                    std::string_view user_agent);

// The status, the headers (names lower-cased) and the body kept so far.
IncomingResponse decode_response(const boost::beast::http::response_header<>& header,
                                 std::string body);

}  // namespace hookd
