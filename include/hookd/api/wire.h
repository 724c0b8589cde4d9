// The Svix API's answers as svix-server writes them: ApplicationOut,
// EventTypeOut, EndpointOut, MessageOut, MessageAttemptOut, list pages and the error bodies
// ({"code","detail"}; 422 {"code":"validation","detail":[{loc,msg,type}]}).
// Pure functions producing JSON text; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hookd/api/message_index.h"
#include "hookd/api/model.h"
#include "hookd/api/pagination.h"
#include "hookd/api/validation.h"

namespace hookd::api {

std::string application_json(const Application& app);
std::string event_type_json(const EventType& type, bool with_schemas);
std::string endpoint_json(const Endpoint& endpoint);
// `payload_json` is the payload, or "{}" when content is not wanted.
std::string message_json(const MessageEntry& message, std::string_view payload_json);
// What a MessageOut's fields are known to be: `plain` when the caller
// validated them (ids and times made here; eventType, eventId and channels
// checked against [a-zA-Z0-9-_.]), so none needs a JSON escape and none is
// looked at; `checked` tests each.
enum class MessageFieldsText { checked, plain };
std::string message_json(const IndexedMessage& message, std::string_view payload_json,
                         MessageFieldsText fields = MessageFieldsText::checked);
std::string endpoint_headers_json(const Endpoint& endpoint);
// MessageAttemptOut; `message_json` ("" for none) is the optional `msg`.
std::string attempt_json(const Attempt& attempt, std::string_view message_json = {});

// {"data":[...],"iterator":...,"prevIterator":...,"done":...}; `items` are
// JSON texts in page order.
template <typename T>
std::string list_json(const std::vector<std::string>& items, const Page<T>& page);
std::string list_json(const std::vector<std::string>& items, const std::optional<std::string>& it,
                      const std::optional<std::string>& prev, bool done);

std::string error_json(std::string_view code, std::string_view detail);
std::string validation_json(const ValidationItems& items);

template <typename T>
std::string list_json(const std::vector<std::string>& items, const Page<T>& page) {
  return list_json(items, page.iterator, page.prev_iterator, page.done);
}

}  // namespace hookd::api
