// JSON value equality for the event targets, with doubles allowed to differ
// by a few ulps. Boost.JSON 1.81 has no exact number parsing (1.83 added it):
// re-reading the shortest text of a double lands up to 2 ulps away (measured
// over 5 million random doubles), so a payload that is parsed and serialized
// again drifts (fuzz/README.md). A comparison here re-parses both texts with
// that same parser, which adds up to 2 ulps per side.
#pragma once

#include <cstdint>
#include <cstring>

#include <boost/json.hpp>

namespace hookd::fuzz {

// One drift (2) plus this comparison's own two re-parses (2 each), rounded up.
constexpr std::uint64_t kMaxUlps = 8;

inline bool doubles_within_ulps(double x, double y) {
  if (x == y) return true;
  if ((x < 0) != (y < 0)) return false;
  std::uint64_t a, b;
  std::memcpy(&a, &x, sizeof a);
  std::memcpy(&b, &y, sizeof b);
  return (a > b ? a - b : b - a) <= kMaxUlps;
}

inline bool same_json_up_to_ulps(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) return doubles_within_ulps(a.get_double(), b.get_double());
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_json_up_to_ulps(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto xi = x.begin(), yi = y.begin(); xi != x.end(); ++xi, ++yi) {
      if (xi->key() != yi->key() || !same_json_up_to_ulps(xi->value(), yi->value())) return false;
    }
    return true;
  }
  return a == b;
}

// Both texts parse (to any depth) and hold the same value, doubles up to kMaxUlps.
inline bool same_json_text_up_to_ulps(std::string_view a, std::string_view b) {
  boost::json::parse_options deep;
  deep.max_depth = 4096;
  boost::json::error_code ea, eb;
  boost::json::value x = boost::json::parse(a, ea, {}, deep);
  boost::json::value y = boost::json::parse(b, eb, {}, deep);
  return !ea && !eb && same_json_up_to_ulps(x, y);
}

}  // namespace hookd::fuzz
