#include "support/command_line.h"

namespace hookd::test {

Result<CommandLine> parse_args(std::vector<std::string> args,
                               const std::map<std::string, std::string>& env) {
  args.insert(args.begin(), "hookd");
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data(),
                            [&env](const char* name) -> const char* {
                              auto it = env.find(name);
                              return it == env.end() ? nullptr : it->second.c_str();
                            });
}

}  // namespace hookd::test
