// A request parsed by Beast, turned into the HttpRequest that handlers see,
// and the metric label of its method. Pure functions.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string_view>

#include "hookd/server/http_message.h"

namespace hookd {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Fills `out` from `message`, reusing out's capacity (a connection keeps one
// HttpRequest for all its requests): method, target, percent-decoded path,
// query, headers with lower-case names, and the body, swapped rather than
// copied. False, with the rest of `out` untouched, when the target is not a
// URI reference.
bool to_http_request(BeastRequest& message, HttpRequest& out);

// Beast's name for a known method, "other" for the rest: unknown methods are
// text the client chose, and a metric label must be bounded. Static storage.
std::string_view method_label(const boost::beast::http::request_header<>& header);

}  // namespace hookd
