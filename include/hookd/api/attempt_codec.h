// A delivery attempt as one line of an attempts segment file: compact JSON
// and a '\n'. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hookd/api/model.h"

namespace hookd::api {

std::string attempt_line(const Attempt& attempt);

// The attempt of one line (without its '\n'); nullopt for anything
// attempt_line did not write (a damaged or foreign line).
std::optional<Attempt> parse_attempt_line(std::string_view line);

// A response body as an attempt shows it: as is when it is UTF-8 text,
// else base64, as svix-server shows binary answers.
std::string attempt_response_text(std::string_view body);

}  // namespace hookd::api
