#include "header_rules.h"

#include <algorithm>

#include "hookd/core/ascii.h"

namespace hookd::api {

bool valid_header_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  // RFC 9110 token characters.
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool valid_header_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  });
}

std::string header_name_problem(std::string_view name) {
  static const char* const kForbidden[] = {"user-agent",
                                           "keep-alive",
                                           "proxy-authenticate",
                                           "proxy-authorization",
                                           "te",
                                           "trailers",
                                           "transfer-encoding",
                                           "upgrade",
                                           "age",
                                           "cache-control",
                                           "clear-site-data",
                                           "expires",
                                           "pragma",
                                           "warning",
                                           "content-length",
                                           "content-type",
                                           "content-encoding",
                                           "content-language",
                                           "content-location",
                                           "host",
                                           "connection"};
  static const char* const kForbiddenPrefixes[] = {"x-amz-", "x-amzn-",  "x-google", "x-goog-",
                                                   "x-gfe",  "x-azure-", "x-fd-",    "x-svix-",
                                                   "svix-",  "webhook-"};
  if (!valid_header_name(name)) return "Invalid Header Name.";
  std::string lower = ascii_lower(name);
  for (const char* forbidden : kForbidden) {
    if (lower == forbidden) return "Header uses a forbidden key.";
  }
  for (const char* prefix : kForbiddenPrefixes) {
    if (lower.rfind(prefix, 0) == 0) return "Header starts with a forbidden prefix.";
  }
  return {};
}

}  // namespace hookd::api
