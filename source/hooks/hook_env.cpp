#include "hookd/hooks/hook_env.h"

#include <algorithm>

namespace hookd {
namespace {

constexpr std::string_view kPayloadName = "HOOP_RUNBOOK_HOOK_PAYLOAD";

bool valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view env_name(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

}  // namespace

HookEnvironment::HookEnvironment() : base_{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"} {}

Result<HookEnvironment> HookEnvironment::parse(const std::vector<std::string>& hook_env) {
  HookEnvironment environment;
  for (const auto& entry : hook_env) {
    auto name = env_name(entry);
    if (entry.find('=') == std::string::npos || !valid_env_name(name)) {
      return make_error("--hook-env: expected NAME=VALUE, got \"" + entry + "\"");
    }
    if (name == kPayloadName) {
      return make_error("--hook-env: HOOP_RUNBOOK_HOOK_PAYLOAD is set by hookd");
    }
    std::erase_if(environment.base_, [&](const std::string& e) { return env_name(e) == name; });
    environment.base_.push_back(entry);
    if (name == "HOME") environment.home_set_ = true;
  }
  return environment;
}

std::vector<std::string> HookEnvironment::for_run(std::string_view payload_json,
                                                  const std::filesystem::path& run_dir) const {
  std::vector<std::string> env;
  env.reserve(base_.size() + 2);
  env.push_back(std::string(kPayloadName) + "=");
  env.back().append(payload_json);
  env.insert(env.end(), base_.begin(), base_.end());
  if (!home_set_) env.push_back("HOME=" + run_dir.string());
  return env;
}

}  // namespace hookd
