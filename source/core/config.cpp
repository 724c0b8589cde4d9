#include "hookd/core/config.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "config_flags.h"

namespace hookd {

namespace po = boost::program_options;

namespace {

constexpr unsigned kHelpWidth = 110;
constexpr unsigned kHelpDescriptionWidth = 50;

std::string env_name(const char* flag) {
  std::string out = "HOOKD_";
  for (const char* p = flag; *p; ++p)
    out.push_back(*p == '-' ? '_' : std::toupper(*p));
  return out;
}

std::string env_of(const Flag& flag) {
  return flag.env ? flag.env : env_name(flag.name);
}

// A repeatable flag's environment variable holds one value per line; the
// error quoting it stays on one line.
std::string one_line(std::string text) {
  for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 2))
    text.replace(at, 1, "\\n");
  return text;
}

// One titled block of --help; each flag's help ends with its environment name.
po::options_description describe(const FlagGroup& group) {
  po::options_description block(group.title, kHelpWidth, kHelpDescriptionWidth);
  for (const Flag& flag : group.flags) {
    std::string help = std::string(flag.help) + "  [" + env_of(flag) + "]";
    if (flag.multi) {
      block.add_options()(flag.name, po::value<std::vector<std::string>>()->composing(),
                          help.c_str());
    } else {
      block.add_options()(flag.name, po::value<std::string>(), help.c_str());
    }
  }
  return block;
}

// The flag's values from the command line, else from its environment
// variable; each is checked and stored. The error names the flag.
std::optional<std::string> apply(const Flag& flag, const po::variables_map& vm,
                                 const std::function<const char*(const char*)>& read_env,
                                 Config& config) {
  std::vector<std::string> values;
  if (vm.count(flag.name)) {
    if (flag.multi) {
      values = vm[flag.name].as<std::vector<std::string>>();
    } else {
      values.push_back(vm[flag.name].as<std::string>());
    }
  } else {
    const char* value = read_env(env_of(flag).c_str());
    // An empty variable counts as unset, as shells export empty values freely.
    if (value && *value) values.emplace_back(value);
  }
  for (const auto& v : values) {
    if (auto problem = flag.apply(config, v)) {
      return "--" + std::string(flag.name) + " '" + one_line(v) + "': " + *problem;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<CommandLine> parse_command_line(int argc, const char* const argv[], const GetEnv& getenv) {
  const std::vector<FlagGroup> groups = flag_groups();
  po::options_description desc("hookd options (each also read from the environment as shown)",
                               kHelpWidth, kHelpDescriptionWidth);
  desc.add_options()("help,h", "print this help and exit")("version", "print the version and exit");
  for (const FlagGroup& group : groups)
    desc.add(describe(group));

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
  } catch (const po::error& e) {
    return make_error(e.what());
  }

  CommandLine out;
  if (vm.count("help")) {
    std::ostringstream text;
    text << "hookd " << HOOKD_VERSION
         << " - Hoop runbook hooks and SIEM delivery at the edge\n\n"
            "Usage: hookd [options]\n\n"
         << desc;
    out.action = CommandLine::Action::help;
    out.text = text.str();
    return out;
  }
  if (vm.count("version")) {
    out.action = CommandLine::Action::version;
    out.text = std::string("hookd ") + HOOKD_VERSION + "\n";
    return out;
  }

  auto read_env = [&](const char* name) -> const char* {
    return getenv ? getenv(name) : std::getenv(name);
  };
  for (const FlagGroup& group : groups) {
    for (const Flag& flag : group.flags) {
      if (auto problem = apply(flag, vm, read_env, out.config)) return make_error(*problem);
    }
  }

  Config& c = out.config;
  if (c.tls_cert.empty() != c.tls_key.empty()) {
    return make_error("--tls-cert and --tls-key go together");
  }
  if (c.threads == 0) c.threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.hook_concurrency == 0) {
    c.hook_concurrency = 2 * std::max(1u, std::thread::hardware_concurrency());
  }
  return out;
}

}  // namespace hookd
