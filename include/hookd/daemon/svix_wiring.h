// The translations between the Svix API and delivery, which do not know each
// other (arrows point down only): the API's endpoints as delivery takes them,
// delivery's attempt reports as the API stores them, and the stored attempts
// as GET /v1/events/{id} shows them. Pure functions.
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

// The inverse of attempt_of for what delivery shows: the error is the
// response text when no HTTP answer came.
SharedAttempt shared_attempt_of(const api::Attempt& attempt);

}  // namespace hookd
