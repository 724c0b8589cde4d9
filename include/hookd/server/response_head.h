// The status line and header fields of an HTTP response, serialised by hand:
// Beast's serializer cost more than the rest of an ingest request. A pure
// function of its arguments.
#pragma once

#include <cstddef>
#include <string>

#include "hookd/server/http_message.h"

namespace hookd {

// Writes the head of `response` into `out` (replacing what was there, keeping
// its capacity): status line, Server, Content-Type, the handler's extra
// fields, Connection when it differs from the version's default, and
// Content-Length: body_size. Extra fields that would split the response or
// contradict the framing (line breaks, ':' in a name, Content-Length,
// Transfer-Encoding, Connection) are left out. `version` is 10 or 11.
// Returns whether a body follows: 1xx, 204 and 304 have none.
bool serialize_response_head(std::string& out, unsigned version, const HttpResponse& response,
                             std::size_t body_size, bool keep_alive);

}  // namespace hookd
