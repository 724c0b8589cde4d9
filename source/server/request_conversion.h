// A request parsed by Beast, turned into the HttpRequest that handlers see,
// and the metric label of its method. Pure functions.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <string_view>

#include "hookd/server/http_message.h"
#include "request_fields.h"

namespace hookd {

// Fills `out` from `message`, reusing out's capacity (a connection keeps one
// HttpRequest for all its requests): method, target, percent-decoded path,
// query, and the headers (already lower-case) and the body, swapped rather
// than copied: `message` gets out's old strings, whose capacity the next
// request reuses. False, with the rest of `out` untouched, when the target
// is not a URI reference.
bool to_http_request(ParsedRequest& message, HttpRequest& out);

// Beast's name for a known method, "other" for the rest: unknown methods are
// text the client chose, and a metric label must be bounded. Static storage.
std::string_view method_label(boost::beast::http::verb method);

}  // namespace hookd
