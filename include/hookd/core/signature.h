// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256
// over "id.timestamp.body" with the base64-decoded part of a "whsec_" secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

class WebhookSecret {
 public:
  // Accepts "whsec_<base64>" (or bare base64, as the reference libraries do).
  static Result<WebhookSecret> parse(std::string_view text);

  // "v1,<base64 signature>" for one message.
  std::string sign(std::string_view id, std::int64_t timestamp, std::string_view body) const;

  // Checks a webhook-signature header value (space-separated list of
  // "v1,<sig>" entries, any one of which may match) and that the timestamp
  // is within `tolerance_seconds` of `now`. Comparison is constant-time.
  Status verify(std::string_view id, std::string_view timestamp_header,
                std::string_view signature_header, std::string_view body, std::int64_t now_unix,
                std::int64_t tolerance_seconds = 300) const;

 private:
  std::string key_;
};

// WebhookSecret::verify under each of `secrets` in turn, so a sender moving
// to a new secret is accepted with the old or the new one: Ok at the first
// match, else the first secret's error (an empty list matches nothing).
Status verify_with_any(const std::vector<WebhookSecret>& secrets, std::string_view id,
                       std::string_view timestamp_header, std::string_view signature_header,
                       std::string_view body, std::int64_t now_unix,
                       std::int64_t tolerance_seconds = 300);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace hookd
