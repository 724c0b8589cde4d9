#include "hookd/runbooks/remote_url.h"

#include <boost/url/pct_string_view.hpp>
#include <cstdlib>
#include <optional>

#include "hookd/runbooks/runbooks.h"

namespace hookd {
namespace {

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
}

// Where the userinfo of "scheme://userinfo@host/..." lies: url[start, at),
// the last '@' before the path ending it (a password may hold a bare '@').
struct UserinfoSpan {
  std::size_t start = 0;
  std::size_t at = 0;
};

std::optional<UserinfoSpan> find_userinfo(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  auto start = scheme + 3;
  auto slash = url.find('/', start);
  auto authority = url.substr(start, slash == std::string_view::npos ? url.npos : slash - start);
  auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  return UserinfoSpan{start, start + at};
}

// "%40" -> "@"; text that is not valid percent-encoding is taken as it is.
std::string percent_decode(std::string_view text) {
  auto encoded = boost::urls::make_pct_string_view(text);
  if (!encoded) return std::string(text);
  return encoded->decode();
}

}  // namespace

std::string redact_remote_url(std::string_view url) {
  auto span = find_userinfo(url);
  if (!span) return std::string(url);
  auto colon = url.substr(span->start, span->at - span->start).find(':');
  if (colon == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, span->start + colon));
  out += ":***";
  out += url.substr(span->at);
  return out;
}

UrlCredentials take_credentials_from_url(std::string_view url) {
  UrlCredentials out{std::string(url), {}, {}};
  auto span = find_userinfo(url);
  if (!span) return out;
  std::string_view userinfo = url.substr(span->start, span->at - span->start);
  auto colon = userinfo.find(':');
  std::string_view user = userinfo.substr(0, colon);
  if (colon != std::string_view::npos) out.password = percent_decode(userinfo.substr(colon + 1));
  out.url = std::string(url.substr(0, span->start));
  if (is_http_url(url)) {
    out.user = percent_decode(user);
    out.url += url.substr(span->at + 1);
  } else {
    out.url += user;
    out.url += url.substr(span->at);
  }
  return out;
}

std::string url_without_credentials(std::string_view url) {
  return take_credentials_from_url(url).url;
}

RunbooksOptions credentials_out_of_url(RunbooksOptions options) {
  UrlCredentials in_url = take_credentials_from_url(options.url);
  options.url = std::move(in_url.url);
  if (options.user.empty()) options.user = std::move(in_url.user);
  if (options.password.empty()) options.password = std::move(in_url.password);
  return options;
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
