// The on-disk form of the API's objects: one JSON object per file, with
// every field (secrets included), independent of the wire shapes. Pure
// functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hookd/api/model.h"

namespace hookd::api {

std::string encode(const Application& app);
std::string encode(const EventType& type);
std::string encode(const Endpoint& endpoint);

std::optional<Application> decode_application(std::string_view text);
std::optional<EventType> decode_event_type(std::string_view text);
std::optional<Endpoint> decode_endpoint(std::string_view text);

}  // namespace hookd::api
