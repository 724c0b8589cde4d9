// An endpoint made through the Svix API (/api/v1), as delivery needs it:
// which messages it gets (Svix's rules: its application's, filtered by event
// type and channel), how they are signed (every active secret) and which
// headers go with them. SvixEndpointSettings and svix_endpoint_matches are a
// value type and a pure function (thread-safe); SvixEndpointLink hands the
// newest settings to the endpoint's worker while it runs (thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hookd/core/event.h"
#include "hookd/core/signature.h"

namespace hookd {

struct SvixSigningSecret {
  WebhookSecret key;
  std::int64_t expires_ms = 0;  // 0: the current secret, never expires
};

struct SvixEndpointSettings {
  std::string id;      // "ep_...": the worker's name and files
  std::string app_id;  // "app_...": only this application's messages
  std::string url;
  std::optional<std::vector<std::string>> filter_types;  // nullopt: every event type
  std::optional<std::vector<std::string>> channels;      // nullopt: every message
  bool disabled = false;                                 // kept, not sent, until enabled again
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<SvixSigningSecret> secrets;  // the current one first
};

// Whether a scheduled delivery of `event` goes to `endpoint`: a message of
// the endpoint's application (plain /v1/events events have none) whose type
// is in filterTypes (or filterTypes is null), and which shares a channel
// with the endpoint (or the endpoint has no channels; a message without
// channels never reaches an endpoint with some). Disabled endpoints still
// match: their messages wait for them.
bool svix_endpoint_matches(const SvixEndpointSettings& endpoint, const Event& event);

class SvixEndpointLink {
 public:
  explicit SvixEndpointLink(SvixEndpointSettings settings)
      : settings_(std::make_shared<const SvixEndpointSettings>(std::move(settings))) {}

  std::shared_ptr<const SvixEndpointSettings> get() const {
    std::lock_guard lock(mutex_);
    return settings_;
  }
  void set(SvixEndpointSettings settings) {
    auto next = std::make_shared<const SvixEndpointSettings>(std::move(settings));
    std::lock_guard lock(mutex_);
    settings_ = std::move(next);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const SvixEndpointSettings> settings_;
};

}  // namespace hookd
