// Settings from systemd credentials: with LoadCredential=NAME:/path in the
// unit, systemd puts the file at $CREDENTIALS_DIRECTORY/NAME, readable only
// by the service. hookd looks a setting up there when neither its flag nor
// its environment variable gives it: the credential is named after the
// variable, lower case, without HOOKD_, '_' as '-' (HOOKD_ADMIN_TOKEN ->
// admin-token, GIT_PASSWORD -> git-password, HOOKD_ENDPOINT -> endpoint, one
// spec per line). Secrets then never sit in the unit, the environment or ps.
// Not thread-safe: for start-up.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "hookd/core/config.h"

namespace hookd {

// "HOOKD_ADMIN_TOKEN" -> "admin-token".
std::string credential_name(std::string_view env_name);

// A GetEnv that reads the process environment, then `credentials_dir`
// (none when empty). A credential's trailing newlines are dropped.
GetEnv environment_with_credentials(std::filesystem::path credentials_dir);

}  // namespace hookd
