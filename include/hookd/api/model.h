// The objects the Svix API manages, as plain values: applications, event
// types and endpoints (with their signing secrets), and the limits that
// bound them. No behaviour here beyond small lookups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hookd::api {

using StringMap = std::map<std::string, std::string>;

struct Application {
  std::string id;   // "app_..."
  std::string uid;  // caller's unique id; empty: none
  std::string name;
  std::optional<std::int64_t> rate_limit;  // messages/s; Svix's throttleRate
  StringMap metadata;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

struct EventType {
  std::string name;  // the key, e.g. "session.open"
  std::string description;
  bool archived = false;
  bool deprecated = false;
  std::string schemas_json;  // a JSON object, or "" for null
  std::optional<std::string> feature_flag;
  std::optional<std::vector<std::string>> feature_flags;
  std::optional<std::string> group_name;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// A previous secret that still signs until `expires_ms` (after a rotation).
struct OldSecret {
  std::string secret;  // "whsec_..."
  std::int64_t expires_ms = 0;
};

struct Endpoint {
  std::string id;      // "ep_..."
  std::string app_id;  // owner
  std::string uid;     // empty: none
  std::string url;
  std::string description;
  std::optional<std::vector<std::string>> filter_types;  // nullopt: every type
  std::optional<std::vector<std::string>> channels;      // nullopt: every message
  bool disabled = false;
  std::optional<std::int64_t> rate_limit;
  std::int64_t version = 1;
  StringMap metadata;
  // Extra request headers, names as given (unique ignoring case).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string secret;  // "whsec_<base64>", signs every delivery
  std::vector<OldSecret> old_secrets;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;

  // The secrets that sign a delivery made at `now_ms`: the current one
  // first, then unexpired old ones.
  std::vector<std::string> signing_secrets(std::int64_t now_ms) const;
};

// Bounds on what callers can make us keep (flags in the "Svix API" group).
struct Limits {
  std::size_t max_applications = 10000;
  std::size_t max_endpoints_per_app = 50;
  std::size_t max_event_types = 1000;
  std::size_t max_filter_types = 100;   // per endpoint
  std::size_t max_headers = 20;         // per endpoint
  std::size_t max_header_bytes = 4096;  // one header value (Svix's figure)
  std::size_t max_metadata_bytes = 4096;
  std::size_t max_old_secrets = 10;                   // rotations within the grace period
  std::int64_t secret_grace_ms = 24 * 3600 * 1000LL;  // old secret keeps signing
};

}  // namespace hookd::api
