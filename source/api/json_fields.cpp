#include "hookd/api/json_fields.h"

#include <boost/json.hpp>

namespace hookd::api {

boost::json::value optional_int(const std::optional<std::int64_t>& value) {
  return value ? boost::json::value(*value) : boost::json::value(nullptr);
}

boost::json::value optional_strings(const std::optional<std::vector<std::string>>& values) {
  if (!values) return nullptr;
  boost::json::array array;
  for (const auto& value : *values)
    array.emplace_back(value);
  return array;
}

boost::json::object string_map(const StringMap& map) {
  boost::json::object object;
  for (const auto& [key, value] : map)
    object[key] = value;
  return object;
}

}  // namespace hookd::api
