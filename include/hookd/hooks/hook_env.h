// HookEnvironment: the whole environment of a hook's child, and nothing
// else: HOOP_RUNBOOK_HOOK_PAYLOAD, PATH, HOME, LANG and the --hook-env
// entries. hookd's own environment (inbound secrets, GIT_PASSWORD) never
// reaches a hook, whichever executor starts it.
//
// A value type; const use is thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hookd/core/result.h"

namespace hookd {

class HookEnvironment {
 public:
  // PATH and LANG only.
  HookEnvironment();

  // `hook_env`: "NAME=VALUE" entries (--hook-env). A later entry for a name
  // wins, also over PATH, LANG and HOME. The error names the bad entry.
  static Result<HookEnvironment> parse(const std::vector<std::string>& hook_env);

  // "NAME=VALUE" entries for one run, the payload first. HOME is the run's
  // directory unless --hook-env set it.
  std::vector<std::string> for_run(std::string_view payload_json,
                                   const std::filesystem::path& run_dir) const;

 private:
  std::vector<std::string> base_;  // PATH, LANG and --hook-env
  bool home_set_ = false;
};

}  // namespace hookd
