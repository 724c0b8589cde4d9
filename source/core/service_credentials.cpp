#include "hookd/core/service_credentials.h"

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>

#include "hookd/core/durable_file.h"

namespace hookd {

std::string credential_name(std::string_view env_name) {
  if (env_name.rfind("HOOKD_", 0) == 0) env_name.remove_prefix(6);
  std::string out;
  for (char c : env_name)
    out += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

GetEnv environment_with_credentials(std::filesystem::path credentials_dir) {
  // GetEnv hands out C strings: the values read stay here for the process.
  auto values = std::make_shared<std::map<std::string, std::string>>();
  return [dir = std::move(credentials_dir), values](const char* name) -> const char* {
    if (const char* value = std::getenv(name); value && *value) return value;
    if (dir.empty()) return nullptr;
    const std::string credential = credential_name(name);
    if (credential.empty() || credential.find('/') != std::string::npos) return nullptr;
    auto it = values->find(credential);
    if (it == values->end()) {
      std::string text = read_whole_file(dir / credential).value_or("");
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.pop_back();
      it = values->emplace(credential, std::move(text)).first;
    }
    return it->second.empty() ? nullptr : it->second.c_str();
  };
}

}  // namespace hookd
