#include "hookd/delivery/svix_format.h"

#include "hookd/core/ascii.h"

namespace hookd {

std::string svix_signature(const std::vector<SvixSigningSecret>& secrets, std::string_view id,
                           std::int64_t timestamp, std::string_view body, std::int64_t now_ms) {
  std::string out;
  for (const SvixSigningSecret& secret : secrets) {
    if (secret.expires_ms != 0 && secret.expires_ms <= now_ms) continue;
    if (!out.empty()) out += ' ';
    out += secret.key.sign(id, timestamp, body);
  }
  return out;
}

bool svix_reserved_header(std::string_view name) {
  static const char* const kReserved[] = {
      "svix-id",        "svix-timestamp",    "svix-signature",
      "webhook-id",     "webhook-timestamp", "webhook-signature",
      "content-length", "content-encoding",  "transfer-encoding",
      "host",           "connection"};
  for (const char* reserved : kReserved) {
    if (ascii_iequals(name, reserved)) return true;
  }
  return false;
}

OutgoingRequest svix_request(const SvixEndpointSettings& endpoint, const RenderedEvent& event,
                             std::int64_t now_ms, std::string_view user_agent,
                             const std::optional<std::string>& basic_auth) {
  const std::int64_t timestamp = now_ms / 1000;
  OutgoingRequest request;
  auto& headers = request.headers;
  headers.reserve(6 + endpoint.headers.size());
  headers.emplace_back("svix-id", event.id);
  headers.emplace_back("svix-timestamp", std::to_string(timestamp));
  headers.emplace_back("svix-signature",
                       svix_signature(endpoint.secrets, event.id, timestamp, event.json, now_ms));
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("user-agent", std::string(user_agent));
  if (basic_auth) headers.emplace_back("authorization", *basic_auth);
  // As in svix-server, the endpoint's headers come last and win over the
  // defaults above (content-type, user-agent, authorization), never over
  // the signature or the framing.
  for (const auto& [name, value] : endpoint.headers) {
    if (svix_reserved_header(name)) continue;
    bool replaced = false;
    for (auto& header : headers) {
      if (ascii_iequals(header.first, name)) {
        header.second = value;
        replaced = true;
        break;
      }
    }
    if (!replaced) headers.emplace_back(name, value);
  }
  request.body = event.json;
  return request;
}

}  // namespace hookd
