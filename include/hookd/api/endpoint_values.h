// Values an endpoint holds that need checking or making: signing secrets,
// URLs, and which custom headers count as sensitive. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hookd::api {

// "whsec_" + base64 of 24..75 bytes (or bare base64): normalised, or nullopt.
std::optional<std::string> normalise_secret(std::string_view text);
// A fresh "whsec_" secret of 24 random bytes.
std::string generate_secret();
// http(s) URL with a host.
bool valid_endpoint_url(std::string_view url);
// Svix never echoes these header values back.
bool sensitive_header(std::string_view name);

}  // namespace hookd::api
