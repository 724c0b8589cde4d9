// JSON value equality for the event targets, with doubles allowed to differ
// by one ulp: Boost.JSON 1.81 has no exact number parsing (1.83 added it), so
// re-reading a serialized double can land on its neighbour (fuzz/README.md).
#pragma once

#include <cmath>

#include <boost/json.hpp>

namespace hookd::fuzz {

inline bool same_json_within_an_ulp(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    return x == y || std::nextafter(x, y) == y;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_json_within_an_ulp(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto xi = x.begin(), yi = y.begin(); xi != x.end(); ++xi, ++yi) {
      if (xi->key() != yi->key() || !same_json_within_an_ulp(xi->value(), yi->value()))
        return false;
    }
    return true;
  }
  return a == b;
}

// Both texts parse (to any depth) and hold the same value, up to an ulp.
inline bool same_json_text_within_an_ulp(std::string_view a, std::string_view b) {
  boost::json::parse_options deep;
  deep.max_depth = 4096;
  boost::json::error_code ea, eb;
  boost::json::value x = boost::json::parse(a, ea, {}, deep);
  boost::json::value y = boost::json::parse(b, eb, {}, deep);
  return !ea && !eb && same_json_within_an_ulp(x, y);
}

}  // namespace hookd::fuzz
