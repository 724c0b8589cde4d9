// The two translations between the Svix API and delivery, which do not know
// each other (arrows point down only): the API's endpoints as delivery takes
// them, and delivery's attempt reports as the API stores them. Pure functions.
#pragma once

#include <vector>

#include "hookd/api/model.h"
#include "hookd/api/store.h"
#include "hookd/delivery/api_delivery.h"

namespace hookd {

// Secrets parsed; rotated-out ones with their expiry, so they keep signing
// next to the new one until then. An unparsable secret is left out.
std::vector<SvixEndpointSettings> svix_endpoints(const api::EndpointSet& set);

api::Attempt attempt_of(const AttemptReport& report);

}  // namespace hookd
