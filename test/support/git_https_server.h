// A git server as a deployment would run one, for tests of the runbooks
// source over HTTPS: nginx terminating TLS (certificates from
// git_https_certificates()) and checking basic auth for one account, with
// fcgiwrap running Debian's git-http-backend over bare repositories.
// Not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "support/certificates.h"
#include "support/support.h"

namespace hookd::test {

// "ca" signs "server" (127.0.0.1 and localhost) and "elsewhere" (another
// name); "other-ca" signs nothing the server uses. Made once per binary.
const TestCertificates& git_https_certificates();

// nginx with the certificate `leaf` and basic auth for user/password, in
// front of fcgiwrap running git-http-backend over the bare repositories under
// root(). Its config, logs, pid file and sockets live in a temporary
// directory; both run as children of the test, in the foreground, and stop
// when this is destroyed. Throws std::runtime_error when either cannot start.
class GitHttpsServer {
 public:
  GitHttpsServer(const std::string& leaf, const std::string& user, const std::string& password);

  unsigned short port() const { return port_; }
  std::filesystem::path root() const { return dir_.path() / "repos"; }
  // https://127.0.0.1:<port>/<repo>, no credentials.
  std::string url(const std::string& repo) const;
  std::string access_log() const;
  std::string error_log() const;

  // A bare repository root()/<name> with the runbooks of make_runbooks_repo,
  // pushed from the work tree `work` (made here).
  void serve_runbooks(const std::string& name, const std::filesystem::path& work) const;
  void push(const std::filesystem::path& work, const std::string& name) const;

 private:
  TempDir dir_;  // first: outlives both processes
  ChildProcess fcgiwrap_;
  ChildProcess nginx_;  // after fcgiwrap: stopped before it
  unsigned short port_ = 0;
};

// Requests in nginx's access log (combined format) by this user with this status.
int requests_logged(const std::string& access_log, const std::string& user, int status);

}  // namespace hookd::test
