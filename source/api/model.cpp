#include "hookd/api/model.h"

namespace hookd::api {

std::vector<std::string> Endpoint::signing_secrets(std::int64_t now_ms) const {
  std::vector<std::string> out;
  out.push_back(secret);
  for (const OldSecret& old : old_secrets) {
    if (old.expires_ms > now_ms) out.push_back(old.secret);
  }
  return out;
}

}  // namespace hookd::api
