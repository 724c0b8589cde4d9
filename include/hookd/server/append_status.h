// How a journal append that did not succeed answers an HTTP request, for
// every route that appends (POST /v1/events, the Svix API's message create):
// full -> 503 and busy -> 429, both with Retry-After; failed -> 500.
#pragma once

#include <optional>
#include <string>

#include "hookd/journal/journal.h"

namespace hookd {

struct AppendRefusal {
  int status = 500;
  std::string reason;        // for the error body
  bool retry_later = false;  // send Retry-After
};

// nullopt for AppendResult::Code::ok.
std::optional<AppendRefusal> append_refusal(const AppendResult& result);

}  // namespace hookd
