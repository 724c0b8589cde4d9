// What a header of an API endpoint may be (`headers` of an endpoint, its
// headers API): the name and value rules, and the names Svix forbids because
// hookd sets them itself or they change how the request is read. Pure
// functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hookd::api {

// An RFC 9110 token of at most 256 characters.
bool valid_header_name(std::string_view name);
// No control character but HTAB.
bool valid_header_value(std::string_view value);
// Svix's message for a name an endpoint may not set, "" when it may.
std::string header_name_problem(std::string_view name);

}  // namespace hookd::api
