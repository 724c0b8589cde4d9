// OpenSSH known_hosts: whether a file lists a host's SSH key, for the fetch's
// host key check (libgit2 1.5 trusts any SSH host key unless told otherwise).
// Pure functions of their arguments (check_known_host also reads the file);
// thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "hookd/core/result.h"

namespace hookd {

// The name known_hosts lists a host under: "host" for port 22, else "[host]:port".
std::string known_hosts_name(std::string_view host, int port);

// Whether a line's host field lists `name`: a hashed name (|1|salt|hash), or a
// comma-separated list of patterns with '*' and '?' (case-insensitive), where
// a matching "!pattern" excludes the name whatever else matches.
bool known_hosts_field_matches(std::string_view field, std::string_view name);

// Whether the known_hosts text `lines` lists `host_key` (the SSH wire-format
// public key blob, what a line carries in base64) for host:port. A key marked
// @revoked is refused; @cert-authority lines are ignored. `file` names the
// text in the error messages.
Status check_known_host_lines(std::string_view lines, std::string_view file, std::string_view host,
                              int port, std::string_view host_key);

// The same for the known_hosts file at `known_hosts`.
Status check_known_host(const std::filesystem::path& known_hosts, std::string_view host, int port,
                        std::string_view host_key);

}  // namespace hookd
