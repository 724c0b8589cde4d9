// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256
// over "id.timestamp.body" with the base64-decoded part of a "whsec_" secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace hookd
