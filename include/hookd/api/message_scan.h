// Reading a MessageIn body in one pass over its text (core/object_scan),
// without a JSON tree, when it has the shape message creates usually have:
// eventType, optional eventId and channels, an object payload, any unknown
// members. Everything else (invalid JSON, wrong types, a problem read_message
// would report, data instead of payload, application, payloadRetentionPeriod)
// is left to the tree-based reader, so every 400 and 422 stays exactly as
// read_message gives it. Pure, thread-safe.
#pragma once

#include <string_view>

#include "hookd/api/validation.h"

namespace hookd::api {

// True with `out` filled as read_message would fill it from the parsed body
// (the payload as json::serialize writes it); false when the caller must
// read the body with read_json_body and read_message.
bool scan_message(std::string_view body, MessageInput& out);

}  // namespace hookd::api
