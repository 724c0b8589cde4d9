// Test support: parse_command_line() over a list of arguments and an
// environment given as a map, never the test process's own.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hookd/core/config.h"

namespace hookd::test {

// `args` without the program name.
Result<CommandLine> parse_args(std::vector<std::string> args,
                               const std::map<std::string, std::string>& env = {});

}  // namespace hookd::test
