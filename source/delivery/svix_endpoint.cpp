#include "hookd/delivery/svix_endpoint.h"

#include <algorithm>

namespace hookd {

namespace {

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

bool svix_endpoint_matches(const SvixEndpointSettings& endpoint, const Event& event) {
  if (!event.message || event.message->app_id != endpoint.app_id) return false;
  if (endpoint.filter_types && !contains(*endpoint.filter_types, event.type)) return false;
  if (!endpoint.channels) return true;
  return std::any_of(
      event.message->channels.begin(), event.message->channels.end(),
      [&](const std::string& channel) { return contains(*endpoint.channels, channel); });
}

}  // namespace hookd
