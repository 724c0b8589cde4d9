#include "hookd/runbooks/remote_url.h"

#include <cstdlib>

#include "hookd/runbooks/runbooks.h"

namespace hookd {
namespace {

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
}

}  // namespace

std::string redact_remote_url(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  auto start = scheme + 3;
  auto slash = url.find('/', start);
  auto authority = url.substr(start, slash == std::string_view::npos ? url.npos : slash - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  auto userinfo = authority.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += userinfo.substr(0, colon);
  out += ":***";
  out += url.substr(start + at);
  return out;
}

std::string redact_secrets(std::string text, const RunbooksOptions& options) {
  replace_all(text, options.url, redact_remote_url(options.url));
  if (options.password.size() >= 3) replace_all(text, options.password, "***");
  if (options.ssh_keypass.size() >= 3) replace_all(text, options.ssh_keypass, "***");
  return text;
}

int ssh_port_of(std::string_view url) {
  for (std::string_view scheme : {"ssh://", "ssh+git://", "git+ssh://"}) {
    if (!url.starts_with(scheme)) continue;
    auto rest = url.substr(scheme.size());
    auto authority = rest.substr(0, rest.find('/'));
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      authority = authority.substr(at + 1);
    }
    std::string_view port;
    if (authority.starts_with("[")) {
      auto close = authority.find(']');
      if (close != std::string_view::npos && close + 1 < authority.size() &&
          authority[close + 1] == ':') {
        port = authority.substr(close + 2);
      }
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    if (port.empty()) return 22;
    int value = std::atoi(std::string(port).c_str());
    return value > 0 ? value : 22;
  }
  return 22;
}

bool is_http_url(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

bool is_local_path(std::string_view url) {
  return url.find("://") == std::string_view::npos && url.find(':') == std::string_view::npos;
}

}  // namespace hookd
