// How a journal append that did not succeed answers an HTTP request, for
// every route that appends (POST /v1/events, the Svix API's message create):
// full -> 503 and busy -> 429; no space on the disk -> 507; an I/O error the
// journal will probe again -> 503, all with Retry-After; failed for good
// (the journal is closed) -> 500.
#pragma once

#include <optional>
#include <string>

#include "hookd/journal/journal.h"

namespace hookd {

struct AppendRefusal {
  int status = 500;
  std::string reason;        // for the error body
  bool retry_later = false;  // send Retry-After
  // The journal will not look at the disk again before this many seconds:
  // Retry-After is at least that (0: only the configured one counts).
  int retry_after_at_least = 0;

  // The Retry-After to send, given the configured one.
  int retry_after_seconds(int configured) const {
    return configured > retry_after_at_least ? configured : retry_after_at_least;
  }
};

// nullopt for AppendResult::Code::ok.
std::optional<AppendRefusal> append_refusal(const AppendResult& result);

}  // namespace hookd
