// Waiting on what GET /v1/events/{id} says about an event: its hook run and
// its delivery to each endpoint.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "support/support.h"

namespace hookd::test {

// GET /v1/events/<id> (with `headers`) until it answers 200 with a view that
// `done` accepts, or 30 s pass; the last answer either way.
Reply wait_for_event_view(unsigned short port, const std::string& id,
                          const std::function<bool(const boost::json::object& view)>& done,
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

// The view's deliveries.<endpoint>.state ("delivered", "dead_letter", ...),
// empty when it has none.
std::string delivery_state(const boost::json::object& view, const std::string& endpoint);

// The view's hook.outcome ("running", "ok", ...), empty when it has none.
std::string hook_outcome(const boost::json::object& view);

}  // namespace hookd::test
