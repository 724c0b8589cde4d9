// Standard Webhooks signing by the reference library (npm standardwebhooks,
// run by node from .peers/), so what hookd accepts is checked against a
// signer no one here wrote.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hookd::test {

// The webhook-id, webhook-timestamp (now) and webhook-signature headers the
// reference library makes for `body` under `secret` (whsec_...). Throws
// std::runtime_error with node's output when it fails.
std::vector<std::pair<std::string, std::string>> reference_signed_headers(const std::string& secret,
                                                                          const std::string& msg_id,
                                                                          const std::string& body);

}  // namespace hookd::test
