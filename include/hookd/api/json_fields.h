// Small Boost.JSON builders the API's encoders share (the on-disk form and
// the wire shapes): optional numbers and lists as null when unset. Pure.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hookd/api/model.h"

namespace hookd::api {

boost::json::value optional_int(const std::optional<std::int64_t>& value);
boost::json::value optional_strings(const std::optional<std::vector<std::string>>& values);
boost::json::object string_map(const StringMap& map);

}  // namespace hookd::api
