// What hookd needs to know about the runbooks remote's URL, and how to keep
// its secrets out of logs and status. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hookd {

struct RunbooksOptions;

// "https://user:secret@host/x" -> "https://user:***@host/x"; other URLs unchanged.
std::string redact_remote_url(std::string_view url);

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
