// The flag table: every flag with its environment name, its help text and
// the parse of its value into Config, in the groups --help shows. Adding a
// flag is one row in its group; adding a group is one function and one line
// in flag_groups().
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hookd/core/config.h"

namespace hookd {

struct Flag {
  const char* name;
  const char* env;  // environment fallback; null: HOOKD_<NAME>
  const char* help;
  // Checks the value and stores it; returns what was expected, or nullopt.
  std::function<std::optional<std::string>(Config&, const std::string&)> apply;
  bool multi = false;  // repeatable
};

struct FlagGroup {
  const char* title;
  std::vector<Flag> flags;
};

// In --help order.
std::vector<FlagGroup> flag_groups();

}  // namespace hookd
