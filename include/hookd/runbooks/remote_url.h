// What hookd needs to know about the runbooks remote's URL, and how to keep
// its secrets out of logs and status. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hookd {

struct RunbooksOptions;

// "https://user:secret@host/x" -> "https://user:***@host/x"; other URLs unchanged.
std::string redact_remote_url(std::string_view url);

// A remote URL split into what may be stored on disk and shown, and the
// credentials it carried (percent-decoded). An http(s) URL loses its whole
// userinfo; any other keeps its user (the SSH account a key logs in to, not a
// secret) and loses only a password. A URL without userinfo is unchanged.
struct UrlCredentials {
  std::string url;
  std::string user;  // http(s) only
  std::string password;
};
UrlCredentials take_credentials_from_url(std::string_view url);

// take_credentials_from_url(url).url.
std::string url_without_credentials(std::string_view url);

// `options` with the credentials moved out of its URL into user and password;
// an explicit user or password (--git-user, --git-password) wins over the
// URL's. What libgit2 is then given, and stores in the clone, holds no secret.
RunbooksOptions credentials_out_of_url(RunbooksOptions options);

// `text` with the URL's password and the configured secrets (password, SSH
// key passphrase; only those of 3 characters or more, shorter ones would
// mangle ordinary words) replaced, so an error message is safe to log.
std::string redact_secrets(std::string text, const RunbooksOptions& options);

// The port the SSH transport connects to, for the known_hosts lookup: the
// port of an ssh://, ssh+git:// or git+ssh:// URL, else 22 (scp-like user@host:path too).
int ssh_port_of(std::string_view url);

bool is_http_url(std::string_view url);

// Neither a URL nor scp-like: libgit2 takes such a remote as a local path.
bool is_local_path(std::string_view url);

}  // namespace hookd
