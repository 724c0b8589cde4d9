// A request parsed by Beast, turned into the HttpRequest that handlers see,
// and the metric label of its method. Pure functions.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <string_view>

#include "header_arena.h"
#include "hookd/server/http_message.h"

namespace hookd {

// A request as the server's parser reads it: its fields in the connection's
// HeaderArena.
using RequestFields = boost::beast::http::basic_fields<HeaderAllocator<char>>;
using ParsedRequest = boost::beast::http::request<boost::beast::http::string_body, RequestFields>;

// Fills `out` from `message`, reusing out's capacity (a connection keeps one
// HttpRequest for all its requests): method, target, percent-decoded path,
// query, headers with lower-case names, and the body, swapped rather than
// copied. False, with the rest of `out` untouched, when the target is not a
// URI reference.
bool to_http_request(ParsedRequest& message, HttpRequest& out);

// Beast's name for a known method, "other" for the rest: unknown methods are
// text the client chose, and a metric label must be bounded. Static storage.
std::string_view method_label(boost::beast::http::verb method);

}  // namespace hookd
