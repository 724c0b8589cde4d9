// The request a Svix API endpoint gets, as svix-server sends it: the body is
// exactly the message payload; svix-id (the message id, the same on every
// attempt), svix-timestamp (this attempt, unix seconds) and svix-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>" for each secret still
// signing, space-separated); content-type, user-agent and the endpoint's
// own headers. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/delivery/formats.h"
#include "hookd/delivery/https_client.h"
#include "hookd/delivery/svix_endpoint.h"

namespace hookd {

// One "v1,<sig>" entry per secret unexpired at `now_ms`, the current first.
std::string svix_signature(const std::vector<SvixSigningSecret>& secrets, std::string_view id,
                           std::int64_t timestamp, std::string_view body, std::int64_t now_ms);

// Headers a Svix endpoint's own headers never replace: the signature set
// and HTTP framing.
bool svix_reserved_header(std::string_view name);

// The POST for one attempt at `now_ms`. `event.json` is the payload
// (render_event_for gives it); `basic_auth` comes from the URL's user info.
OutgoingRequest svix_request(const SvixEndpointSettings& endpoint, const RenderedEvent& event,
                             std::int64_t now_ms, std::string_view user_agent,
                             const std::optional<std::string>& basic_auth);

}  // namespace hookd
